"""The seed format of both simulators (documented in plugins/odin/README.md), validated.

A seed is a JSON object; ``seed_example.json`` beside this module is the demo story. Unknown
keys are refused so a typo in a hand-written seed is reported, not ignored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from idsync_odin.simulator.state import (
    Credentials,
    Customer,
    Product,
    SimSubscription,
    Throttle,
    World,
    aps_id,
    utc_now,
)

Status = Literal["pending", "active", "hold", "terminated", "removed"]
FIRST_RESOURCE_TYPE_ID = 1000401


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedProduct(_Strict):
    mpn: str = Field(min_length=1)
    id: str | None = None
    name: str = Field(min_length=1)
    quantity: int | None = Field(default=None, ge=0, description="null: usage-based")
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    currency: str = "USD"
    vendor: str = "Microsoft"
    resource_type_id: int | None = Field(default=None, description="APS resource type id")
    usage: int | None = Field(default=None, ge=0, description="APS usage; default quantity")


class SeedPeriod(_Strict):
    type: str = Field(min_length=1, description="day | month | year")
    duration: int = Field(default=1, ge=1)


class SeedSubscription(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    status: Status = "active"
    subscription_period: SeedPeriod | None = None
    billing_period: SeedPeriod | None = None
    creation_date: date = date(2026, 1, 1)
    renewal_date: str | None = None
    last_modified: datetime | None = Field(
        default=None, description="default: the creation date, 00:00 UTC")
    revision: int = Field(default=1, ge=1, description="APS aps.revision")
    aps_id: str | None = None
    products: list[SeedProduct] = Field(default_factory=list)


class SeedCustomer(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    status: str = "active"
    external_id: str | None = None
    aps_id: str | None = None
    subscriptions: list[SeedSubscription] = Field(default_factory=list)


class SeedThrottle(_Strict):
    requests: int = Field(default=0, ge=0, description="0: no throttle")
    window_seconds: float = Field(default=1.0, gt=0)


class SeedCredentials(_Strict):
    username: str = Credentials.username
    password: str = Credentials.password
    subscription_key: str = Credentials.subscription_key
    consumer_key: str = Credentials.consumer_key
    consumer_secret: str = Credentials.consumer_secret
    aps_token: str = Credentials.aps_token


class Seed(_Strict):
    backend: Literal["marketplace", "aps"] = "marketplace"
    marketplace: str = "us"
    token_lifetime_seconds: float = Field(default=1500, gt=0)
    detail_throttle: SeedThrottle = Field(default_factory=SeedThrottle)
    credentials: SeedCredentials = Field(default_factory=SeedCredentials)
    customers: list[SeedCustomer] = Field(default_factory=list)
    description: str = ""

    @model_validator(mode="after")
    def _unique_ids(self) -> Seed:
        customers = [c.id for c in self.customers]
        subscriptions = [s.id for c in self.customers for s in c.subscriptions]
        for kind, ids in (("customer", customers), ("subscription", subscriptions)):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} ids: {', '.join(duplicates)}")
        for customer in self.customers:
            for sub in customer.subscriptions:
                mpns = [p.mpn for p in sub.products]
                if len(mpns) != len(set(mpns)):
                    raise ValueError(f"subscription {sub.id} lists one MPN twice")
        return self


def example_seed() -> dict[str, Any]:
    """The shipped demo seed (``seed_example.json``)."""
    text = resources.files("idsync_odin.simulator").joinpath("seed_example.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build_world(raw: dict[str, Any] | None, clock: Callable[[], float] = time.monotonic,
                wall_clock: Callable[[], datetime] = utc_now) -> tuple[Seed, World]:
    """Validate a seed (None: the example) and build the world it describes."""
    seed = Seed.model_validate(example_seed() if raw is None else raw)
    resource_types: dict[str, int] = {}
    customers: dict[str, Customer] = {}
    subscriptions: dict[str, SimSubscription] = {}
    for c in seed.customers:
        customers[c.id] = Customer(c.id, c.name, c.status, c.aps_id or aps_id("account", c.id),
                                   external_id=c.external_id)
        for s in c.subscriptions:
            products = []
            for p in s.products:
                rt_id = p.resource_type_id or resource_types.setdefault(
                    p.mpn, FIRST_RESOURCE_TYPE_ID + len(resource_types))
                products.append(Product(
                    mpn=p.mpn, id=p.id or p.mpn, name=p.name, quantity=p.quantity,
                    unit_price=p.unit_price, unit_cost=p.unit_cost, currency=p.currency,
                    vendor=p.vendor, resource_type_id=rt_id, usage=p.usage))
            subscriptions[s.id] = SimSubscription(
                id=s.id, customer_id=c.id, name=s.name, status=s.status,
                creation_date=s.creation_date.isoformat(), renewal_date=s.renewal_date,
                products=products, last_modified=_utc(s.last_modified or datetime.combine(
                    s.creation_date, datetime.min.time())),
                revision=s.revision, aps_id=s.aps_id or aps_id("subscription", s.id),
                periods={key: period.model_dump() for key, period in (
                    ("subscriptionPeriod", s.subscription_period),
                    ("billingPeriod", s.billing_period)) if period is not None})
    world = World(
        customers=customers, subscriptions=subscriptions, marketplace=seed.marketplace,
        credentials=Credentials(**seed.credentials.model_dump()),
        token_lifetime=seed.token_lifetime_seconds,
        detail_throttle=Throttle(seed.detail_throttle.requests,
                                 seed.detail_throttle.window_seconds),
        clock=clock,
        wall_clock=wall_clock,
    )
    return seed, world
