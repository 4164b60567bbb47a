"""The simulated tenant: its records, the rules ConnectWise applies to writes, and seeding.

Records are kept in ConnectWise's own JSON shape (numbers as ``Decimal``), so the app serves
them as they are. Additions are the only writable resource; every write goes through the same
validation, then the server-computed fields are derived again.

Derived addition fields (ConnectWise's formulas are UNCONFIRMED; these are the simulator's):
``billedQuantity = quantity - lessIncluded``, ``extPrice = billedQuantity * unitPrice``,
``extCost = billedQuantity * unitCost``, ``margin = extPrice - extCost``, prorate fields 0,
``sequenceNumber`` = position on the agreement at creation, ``agreementStatus`` = the agreement's.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from idsync_connectwise.simulator.query import parse_datetime, to_decimal

Record = dict[str, Any]

BILL_CUSTOMER = ("Billable", "DoNotBill", "NoCharge")
ADDITION_FIELDS = (
    "product", "quantity", "lessIncluded", "unitPrice", "unitCost", "billCustomer",
    "effectiveDate", "cancelledDate", "taxableFlag", "serialNumber", "invoiceDescription",
    "purchaseItemFlag", "specialOrderFlag", "description", "uom", "prorateCurrentPeriodFlag",
    "opportunity", "invoiceGrouping", "customFields",
)
"""What a client may write on an addition; PATCH paths are matched case-sensitively."""
_NUMBERS = ("quantity", "lessIncluded", "unitPrice", "unitCost")
_DATES = ("effectiveDate", "cancelledDate")
_FLAGS = ("taxableFlag", "purchaseItemFlag", "specialOrderFlag", "prorateCurrentPeriodFlag")
_TEXTS = {"serialNumber": 50, "invoiceDescription": 6000, "description": 6000, "uom": 50}


class ValidationFailure(Exception):
    """A write ConnectWise would refuse with 400 InvalidObject and these ``errors``.

    Nested codes seen in real answers: ``MissingRequiredField``, ``MaxLengthField``,
    ``NotFound``, ``OutOfRange`` (christaylorcodes/ConnectWiseManageAPI#30, research notes §5.2,
    a vendor's list of ConnectWise errors) and ``UnsupportedFormat`` for dates (a field note);
    ``InvalidValue`` (not a number, not a boolean) is the simulator's own.
    """

    def __init__(self, resource: str, errors: list[Record]) -> None:
        super().__init__(f"{resource} object is invalid")
        self.resource = resource
        self.errors = errors

    def body(self) -> Record:
        return {"code": "InvalidObject", "message": str(self), "errors": self.errors}


class PatchFailure(Exception):
    """A malformed PATCH document (not a list of operations, or a path into a reference);
    ``field`` is the offending path, if one is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SeedError(ValueError):
    """A seed file that does not follow the documented format."""


@dataclass(frozen=True)
class Login:
    """The one API member the simulated tenant knows."""

    company_id: str
    public_key: str
    private_key: str
    client_id: str
    require_client_id: bool = True
    member: str = "APIMember"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(field: str, code: str, message: str) -> Record:
    return {"code": code, "message": message, "resource": "addition", "field": field}


class Tenant:
    """Every record of the tenant, guarded by one lock (the app and tests share it)."""

    def __init__(self, seed: Record) -> None:
        self.lock = threading.RLock()
        login = _mapping(seed, "login")
        try:
            self.login = Login(**login)
        except TypeError as exc:
            raise SeedError(f"seed `login`: {exc}") from None
        self.codebase = str(seed.get("codebase", "v2025_1/")).strip("/") + "/"
        self.api_version = str(seed.get("api_version", "2025.1"))
        self.catalog = _records(seed, "catalog", _catalog_item)
        self.companies = _records(seed, "companies", _company)
        self.agreements = _records(seed, "agreements", self._agreement)
        self.additions: dict[int, Record] = {}
        self._by_agreement: dict[int, list[int]] | None = None
        for raw in seed.get("additions", ()):
            self._seed_addition(raw)
        self._next_id = max([*self.catalog, *self.companies, *self.agreements,
                             *self.additions, 0]) + 1

    # -- seeding --------------------------------------------------------------------------------

    def _agreement(self, raw: Record) -> Record:
        company = raw.get("company")
        company_id = company.get("id") if isinstance(company, dict) else None
        found = self.companies.get(company_id) if isinstance(company_id, int) else None
        if found is None:
            raise SeedError(f"agreement {raw.get('id')}: company {company!r} is not seeded")
        return {
            "agreementStatus": "Active", "cancelledFlag": False, "noEndingDateFlag":
            raw.get("endDate") is None, "endDate": None, "billingCycle": None,
            **raw,
            "company": {"id": found["id"], "identifier": found["identifier"],
                        "name": found["name"]},
            "_info": {"lastUpdated": now_text(), "updatedBy": "seed", **raw.get("_info", {})},
        }

    def _seed_addition(self, raw: Record) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int) or (
                raw["id"] in self.additions):
            raise SeedError(f"addition ids must be unique integers: {raw!r:.80}")
        parent = raw.get("agreementId")
        agreement = self.agreements.get(parent) if isinstance(parent, int) else None
        if agreement is None:
            raise SeedError(f"addition {raw['id']}: agreementId {raw.get('agreementId')!r} "
                            "is not a seeded agreement")
        body = {k: v for k, v in raw.items() if k not in ("id", "agreementId")}
        try:
            record = self._build_addition(agreement, body, None, fill_from_catalog=True)
        except ValidationFailure as exc:
            raise SeedError(f"addition {raw['id']}: " + "; ".join(
                e["message"] for e in exc.errors)) from None
        record["id"] = raw["id"]
        self.additions[raw["id"]] = record
        self._agreement_index().setdefault(agreement["id"], []).append(raw["id"])

    # -- additions ------------------------------------------------------------------------------

    def additions_of(self, agreement_id: int) -> list[Record]:
        with self.lock:
            return [self.additions[i] for i in self._agreement_index().get(agreement_id, ())]

    def _agreement_index(self) -> dict[int, list[int]]:
        """Addition ids by agreement, built once and kept up to date by creates and deletes
        (an addition never moves to another agreement): no scan of every addition per request
        on large (benchmark) tenants."""
        if self._by_agreement is None:
            index: dict[int, list[int]] = {}
            for addition in self.additions.values():
                index.setdefault(addition["agreementId"], []).append(addition["id"])
            self._by_agreement = index
        return self._by_agreement

    def create_addition(self, agreement_id: int, body: Record) -> Record:
        with self.lock:
            record = self._build_addition(self.agreements[agreement_id], body, None,
                                          fill_from_catalog=True)
            record["id"] = self._take_id()
            self.additions[record["id"]] = record
            self._agreement_index().setdefault(agreement_id, []).append(record["id"])
            return copy.deepcopy(record)

    def replace_addition(self, addition: Record, body: Record) -> Record:
        """PUT: fields the body leaves out go back to their defaults (null)."""
        with self.lock:
            record = self._build_addition(self.agreements[addition["agreementId"]], body,
                                          addition, fill_from_catalog=False)
            self.additions[addition["id"]] = record
            return copy.deepcopy(record)

    def patch_addition(self, addition: Record, operations: object) -> Record:
        """JSON-Patch ``add``/``replace``/``remove`` on top-level fields.

        A path is a field name, with or without a leading ``/``, matched case-sensitively. A
        path into a reference (``product/id``) is refused. A path naming no writable field is
        ignored and the answer is still 200: the "false 200" the Developer Guide warns about.
        """
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise PatchFailure("a PATCH body is a JSON array of {op, path, value} operations")
        changes = {k: v for k, v in addition.items() if k in ADDITION_FIELDS}
        for operation in operations:
            op, path = operation.get("op"), str(operation.get("path") or "").lstrip("/")
            if op not in ("add", "replace", "remove"):
                raise PatchFailure(f"unsupported patch operation {op!r}", path or None)
            if "/" in path:
                raise PatchFailure(f"cannot patch {path!r}: replace the whole reference "
                                   f"({path.split('/')[0]}) instead", path)
            if path in ADDITION_FIELDS:
                changes[path] = None if op == "remove" else operation.get("value")
        with self.lock:
            record = self._build_addition(self.agreements[addition["agreementId"]], changes,
                                          addition, fill_from_catalog=False)
            self.additions[addition["id"]] = record
            return copy.deepcopy(record)

    def delete_addition(self, addition: Record) -> None:
        with self.lock:
            del self.additions[addition["id"]]
            self._agreement_index()[addition["agreementId"]].remove(addition["id"])

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _build_addition(self, agreement: Record, body: Record, previous: Record | None, *,
                        fill_from_catalog: bool) -> Record:
        """Validate ``body`` as a whole addition and derive the computed fields."""
        errors: list[Record] = []
        product = self._product(body.get("product"), errors)
        values: Record = {field: body.get(field) for field in ADDITION_FIELDS}
        if fill_from_catalog and product is not None:
            defaults = {"unitPrice": product.get("price"), "unitCost": product.get("cost"),
                        "description": product.get("description"),
                        "invoiceDescription": product.get("customerDescription"),
                        "taxableFlag": product.get("taxableFlag", False),
                        "uom": (product.get("unitOfMeasure") or {}).get("name")}
            values.update({k: v for k, v in defaults.items() if values.get(k) is None})
        if values["billCustomer"] is None:
            errors.append(_error("billCustomer", "MissingRequiredField",
                                 "The billCustomer field is required."))
        elif values["billCustomer"] not in BILL_CUSTOMER:
            errors.append(_error("billCustomer", "OutOfRange",
                                 f"billCustomer must be one of {', '.join(BILL_CUSTOMER)}."))
        for field in _NUMBERS:
            if values[field] is not None:
                values[field] = to_decimal(values[field])
                if values[field] is None:
                    errors.append(_error(field, "InvalidValue", f"{field} must be a number."))
        for field in _DATES:
            values[field] = _date_value(field, values[field], errors)
        if values["effectiveDate"] and values["cancelledDate"] and (
                values["cancelledDate"] < values["effectiveDate"]):
            errors.append(_error("cancelledDate", "OutOfRange",
                                 "The cancelled date cannot be before the effective date."))
        for field in _FLAGS:
            if values[field] is None:
                values[field] = False
            elif not isinstance(values[field], bool):
                errors.append(_error(field, "InvalidValue", f"{field} must be true or false."))
        for field, limit in _TEXTS.items():
            if values[field] is not None and len(str(values[field])) > limit:
                errors.append(_error(field, "MaxLengthField", f"The field {field} must be a "
                                     f"string with a maximum length of {limit}."))
        if errors:
            raise ValidationFailure("addition", errors)
        assert product is not None
        return self._derive(agreement, values, product, previous)

    def _product(self, reference: object, errors: list[Record]) -> Record | None:
        if not isinstance(reference, dict) or not (reference.get("id") or
                                                   reference.get("identifier")):
            errors.append(_error("product", "MissingRequiredField",
                                 "The product field is required."))
            return None
        if reference.get("id") is not None:
            found = self.catalog.get(reference["id"])
        else:
            wanted = str(reference["identifier"]).casefold()
            found = next((c for c in self.catalog.values()
                          if c["identifier"].casefold() == wanted), None)
        if found is None:
            errors.append(_error("product", "NotFound",
                                 f"Product {reference.get('id') or reference.get('identifier')} "
                                 "was not found."))
        return found

    def _derive(self, agreement: Record, values: Record, product: Record,
                previous: Record | None) -> Record:
        zero = Decimal(0)
        billed = (values["quantity"] or zero) - (values["lessIncluded"] or zero)
        price, cost = values["unitPrice"] or zero, values["unitCost"] or zero
        sequence = previous["sequenceNumber"] if previous else Decimal(
            len(self.additions_of(agreement["id"])) + 1)
        return {
            "id": previous["id"] if previous else None,
            **values,
            "product": {"id": product["id"], "identifier": product["identifier"]},
            "lessIncluded": values["lessIncluded"] or zero,
            "agreementId": agreement["id"],
            "billedQuantity": billed,
            "extPrice": billed * price,
            "extCost": billed * cost,
            "margin": billed * (price - cost),
            "sequenceNumber": sequence,
            "prorateCost": zero, "proratePrice": zero,
            "extendedProrateCost": zero, "extendedProratePrice": zero,
            "agreementStatus": agreement.get("agreementStatus", "Active"),
            "customFields": values["customFields"] or [],
            "_info": {"lastUpdated": now_text(), "updatedBy": self.login.member},
        }

    def snapshot(self) -> Record:
        with self.lock:
            return copy.deepcopy({
                "companies": list(self.companies.values()),
                "agreements": list(self.agreements.values()),
                "additions": list(self.additions.values()),
                "catalog": list(self.catalog.values()),
            })


def _date_value(field: str, value: object, errors: list[Record]) -> str | None:
    """A datetime as ConnectWise returns it (``2026-01-01T00:00:00Z``)."""
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        errors.append(_error(field, "UnsupportedFormat",
                             f"{field} must be a datetime such as 2026-01-01T00:00:00Z."))
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mapping(seed: Record, key: str) -> Record:
    value = seed.get(key)
    if not isinstance(value, dict):
        raise SeedError(f"the seed needs a `{key}` object")
    return value


def _records(seed: Record, key: str, build: Callable[[Record], Record]) -> dict[int, Record]:
    found: dict[int, Record] = {}
    for raw in seed.get(key, ()):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            raise SeedError(f"every entry of `{key}` needs an integer id: {raw!r:.80}")
        if raw["id"] in found:
            raise SeedError(f"`{key}` has id {raw['id']} twice")
        found[raw["id"]] = build(raw)
    return found


def _company(raw: Record) -> Record:
    if not raw.get("name"):
        raise SeedError(f"company {raw['id']} needs a name")
    identifier = raw.get("identifier") or "".join(raw["name"].split())[:30]
    return {
        "identifier": identifier, "status": {"id": 1, "name": "Active"},
        "deletedFlag": False, "dateDeleted": None, **raw,
        "_info": {"lastUpdated": now_text(), "updatedBy": "seed", **raw.get("_info", {})},
    }


def _catalog_item(raw: Record) -> Record:
    if not raw.get("identifier") or not raw.get("description"):
        raise SeedError(f"catalog item {raw['id']} needs an identifier and a description")
    return {
        "inactiveFlag": False, "customerDescription": raw["description"],
        "productClass": "NonInventory", "taxableFlag": False, **raw,
        "price": to_decimal(raw.get("price", 0)), "cost": to_decimal(raw.get("cost", 0)),
        "_info": {"lastUpdated": now_text(), "updatedBy": "seed", **raw.get("_info", {})},
    }
