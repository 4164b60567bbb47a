"""A large synthetic MSP tenant, written in each simulator's documented seed format.

One deterministic world (``random.Random(seed)``) is rendered three times: as an Ingram
marketplace seed (plugins/odin/README.md "seed format"), a ConnectWise seed
(plugins/connectwise/README.md "Seed format") and an Autotask seed (plugins/autotask/README.md
"Simulator seed"). Shape, for ``resources = N``:

* ``N / 10`` customers, each linked to a PSA company of the same name;
* two subscriptions per customer, each linked to its own agreement / recurring contract
  (monthly billing, started before today);
* five seat-based product lines per subscription, each billed on its agreement as one catalog
  product; 40 catalog products in all;
* a quarter of the ConnectWise lines are two additions (an original and a later increase);
* ``change_rate`` of the lines differ between provider and PSA: 60 % are increases (1-5 seats),
  40 % decreases (1-5 seats, never below 0). The rest are equal.

``Line`` keeps what the benchmark needs to state the theoretical minimum of API calls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

TODAY = date(2026, 11, 25)
"""Pinned with IDSYNC_TODAY, as the end-to-end tests do; decreases then start 2026-12-01."""
NEXT_PERIOD = date(2026, 12, 1)
PROVIDER = "ingram"
PRODUCTS = 40
SUBSCRIPTIONS_PER_CUSTOMER = 2
LINES_PER_SUBSCRIPTION = 5


@dataclass
class Line:
    resource_id: str
    mpn: str
    product: int  # index into the catalog
    provider_qty: int
    psa_parts: list[int]  # ConnectWise additions (oldest first); Autotask uses their sum

    @property
    def psa_qty(self) -> int:
        return sum(self.psa_parts)

    @property
    def delta(self) -> int:
        return self.provider_qty - self.psa_qty


@dataclass
class Subscription:
    index: int
    id: str
    name: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class Customer:
    index: int
    id: str
    name: str
    subscriptions: list[Subscription] = field(default_factory=list)


@dataclass
class Tenant:
    resources: int
    customers: list[Customer]
    catalog: list[tuple[str, str, Decimal, Decimal]]  # mpn, name, price, cost

    def subscriptions(self) -> list[Subscription]:
        return [s for c in self.customers for s in c.subscriptions]

    def lines(self) -> list[Line]:
        return [line for s in self.subscriptions() for line in s.lines]

    def changes(self) -> list[Line]:
        return [line for line in self.lines() if line.delta != 0]


def build(resources: int, *, change_rate: float = 0.10, seed: int = 7) -> Tenant:
    if resources % (SUBSCRIPTIONS_PER_CUSTOMER * LINES_PER_SUBSCRIPTION):
        raise ValueError("resources must be a multiple of 10")
    rng = random.Random(seed)
    catalog = []
    for p in range(PRODUCTS):
        price = Decimal(rng.randrange(200, 4000)) / 100
        cost = (price * Decimal("0.83")).quantize(Decimal("0.01"))
        catalog.append((f"CFQ7TTC0{p:04d}", f"Microsoft 365 product {p:02d}", price, cost))
    customers = []
    n_customers = resources // (SUBSCRIPTIONS_PER_CUSTOMER * LINES_PER_SUBSCRIPTION)
    sub_index = 0
    for c in range(n_customers):
        customer = Customer(c, f"1{c:06d}", f"Customer {c:05d} Ltd")
        for _ in range(SUBSCRIPTIONS_PER_CUSTOMER):
            sub = Subscription(sub_index, f"2{sub_index:06d}",
                               f"{customer.name} - Microsoft 365 #{sub_index}")
            sub_index += 1
            for p in rng.sample(range(PRODUCTS), LINES_PER_SUBSCRIPTION):
                mpn = catalog[p][0]
                psa = rng.randint(1, 60)
                parts = [psa]
                if psa > 1 and rng.random() < 0.25:
                    first = rng.randint(1, psa - 1)
                    parts = [first, psa - first]
                provider = psa
                if rng.random() < change_rate:
                    if rng.random() < 0.6:
                        provider = psa + rng.randint(1, 5)
                    else:
                        provider = psa - rng.randint(1, min(5, psa))
                sub.lines.append(Line(f"{sub.id}:{mpn}", mpn, p, provider, parts))
            customer.subscriptions.append(sub)
        customers.append(customer)
    return Tenant(resources, customers, catalog)


# -- Ingram marketplace ---------------------------------------------------------------------

def odin_seed(t: Tenant) -> dict[str, Any]:
    return {
        "description": f"benchmark tenant, {t.resources} resources",
        "marketplace": "us",
        "detail_throttle": {"requests": 20, "window_seconds": 1},
        "customers": [{
            "id": c.id, "name": c.name,
            "subscriptions": [{
                "id": s.id, "name": s.name, "creation_date": "2026-01-01",
                "renewal_date": "2027-01-01",
                "products": [{"mpn": line.mpn, "name": t.catalog[line.product][1],
                              "quantity": line.provider_qty,
                              "unit_price": str(t.catalog[line.product][2]),
                              "unit_cost": str(t.catalog[line.product][3])}
                             for line in s.lines]}
                for s in c.subscriptions]}
            for c in t.customers],
    }


# -- ConnectWise ----------------------------------------------------------------------------

CW_COMPANY0, CW_CATALOG0, CW_AGREEMENT0, CW_ADDITION0 = 20_001, 1_001, 30_001, 100_001


def cw_company_id(c: Customer) -> int:
    return CW_COMPANY0 + c.index


def cw_agreement_id(s: Subscription) -> int:
    return CW_AGREEMENT0 + s.index


def cw_catalog_id(line: Line) -> int:
    return CW_CATALOG0 + line.product


def connectwise_seed(t: Tenant) -> dict[str, Any]:
    catalog = [{"id": CW_CATALOG0 + p, "identifier": mpn, "description": name,
                "customerDescription": name, "price": price, "cost": cost,
                "inactiveFlag": False}
               for p, (mpn, name, price, cost) in enumerate(t.catalog)]
    companies, agreements, additions = [], [], []
    next_addition = CW_ADDITION0
    for c in t.customers:
        companies.append({"id": cw_company_id(c), "name": c.name, "deletedFlag": False})
        for s in c.subscriptions:
            agreements.append({
                "id": cw_agreement_id(s), "name": s.name, "company": {"id": cw_company_id(c)},
                "agreementStatus": "Active", "startDate": "2026-01-01T00:00:00Z",
                "noEndingDateFlag": True, "billingCycle": {"id": 1, "name": "Monthly"}})
            for line in s.lines:
                _, name, price, cost = t.catalog[line.product]
                for n, part in enumerate(line.psa_parts):
                    additions.append({
                        "id": next_addition, "agreementId": cw_agreement_id(s),
                        "product": {"id": cw_catalog_id(line)}, "quantity": part,
                        "billCustomer": "Billable",
                        "effectiveDate": "2026-01-01T00:00:00Z" if n == 0
                        else "2026-06-01T00:00:00Z",
                        "unitPrice": price, "unitCost": cost, "description": name})
                    next_addition += 1
    return {
        "description": f"benchmark tenant, {t.resources} resources",
        "login": {"company_id": "benchmsp", "public_key": "BenchPublicKey01",
                  "private_key": "BenchPrivateKey01",
                  "client_id": "8d0f0b8e-6f2a-4c1e-9a57-3c2b1d0e4f5a"},
        "companies": companies, "catalog": catalog, "agreements": agreements,
        "additions": additions,
    }


def cw_decrease_writes(line: Line) -> int:
    """Writes the ``delta`` strategy needs for a decrease on NEXT_PERIOD: one PATCH per
    cancelled addition (newest first) plus one POST re-adding any surplus."""
    needed, cancelled, writes = -line.delta, 0, 0
    for part in reversed(line.psa_parts):  # the newest addition first
        if cancelled >= needed:
            break
        cancelled += part
        writes += 1
    return writes + (1 if cancelled > needed else 0)


# -- Autotask -------------------------------------------------------------------------------

AT_COMPANY0, AT_SERVICE0, AT_CONTRACT0, AT_CS0 = 101, 5_001, 30_001, 100_001


def at_company_id(c: Customer) -> int:
    return AT_COMPANY0 + c.index


def at_contract_id(s: Subscription) -> int:
    return AT_CONTRACT0 + s.index


def at_service_id(line: Line) -> int:
    return AT_SERVICE0 + line.product


def autotask_seed(t: Tenant) -> dict[str, Any]:
    services = [{"id": AT_SERVICE0 + p, "name": name, "sku": mpn, "unitPrice": float(price),
                 "unitCost": float(cost), "periodType": 1, "billingCodeID": 29682801,
                 "isActive": True}
                for p, (mpn, name, price, cost) in enumerate(t.catalog)]
    companies = [{"id": 0, "companyName": "Benchmark MSP", "companyType": 1, "isActive": True}]
    contracts, contract_services = [], []
    next_cs = AT_CS0
    for c in t.customers:
        companies.append({"id": at_company_id(c), "companyName": c.name, "companyType": 1,
                          "isActive": True})
        for s in c.subscriptions:
            # One year of monthly periods around today: 12 ContractServiceUnits rows a line.
            contracts.append({"id": at_contract_id(s), "companyID": at_company_id(c),
                              "contractName": s.name, "contractType": 7, "status": 1,
                              "contractPeriodType": 1, "startDate": "2026-06-01",
                              "endDate": "2027-05-31"})
            for line in s.lines:
                _, _, price, cost = t.catalog[line.product]
                contract_services.append({"id": next_cs, "contractID": at_contract_id(s),
                                          "serviceID": at_service_id(line),
                                          "unitPrice": float(price), "unitCost": float(cost),
                                          "units": line.psa_qty})
                next_cs += 1
    return {
        "apiUsers": [{"userName": "bench-api@msp.example", "secret": "bench-secret"}],
        "integrationCodes": ["IDSYNC-BENCHMARK"],
        "threshold": {"limit": 10_000, "used": 0},
        "companies": companies, "services": services, "contracts": contracts,
        "contractServices": contract_services,
    }
