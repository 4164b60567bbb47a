"""The simulated provider's world: customers, subscriptions and their product lines.

Both simulators (marketplace and APS) serve the same world in their own wire format, so one
seed file describes a demo for either backend. Everything here is thread-safe (the simulator
runs in a server thread while a test changes quantities) and both clocks are injectable: the
monotonic one, so tests can expire tokens and throttle windows without sleeping, and the wall
clock that dates changes.

A subscription remembers when it last changed and how often (``last_modified``, ``revision``),
as both APIs report it by themselves (marketplace ``lastModifiedDate``, APS ``aps.modified`` and
``aps.revision``), so a client that reads only what changed since its last run sees every change.
"""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

STATUSES = ("pending", "active", "hold", "terminated", "removed")
APS_NAMESPACE = uuid.UUID("6f1c2a43-9d1e-4c59-9a53-0d5e0c1b7a11")


def utc_now() -> datetime:
    return datetime.now(UTC)


def aps_id(kind: str, seed_id: str) -> str:
    """A stable APS resource id (UUID) for a seed object, the same on every start."""
    return str(uuid.uuid5(APS_NAMESPACE, f"{kind}:{seed_id}"))


@dataclass
class Product:
    mpn: str
    id: str
    name: str
    quantity: int | None
    unit_price: Decimal | None
    unit_cost: Decimal | None
    currency: str
    vendor: str
    resource_type_id: int
    usage: int | None = None

    def to_seed(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mpn": self.mpn, "id": self.id, "name": self.name, "quantity": self.quantity,
            "currency": self.currency, "vendor": self.vendor,
            "resource_type_id": self.resource_type_id,
        }
        for key, value in (("unit_price", self.unit_price), ("unit_cost", self.unit_cost)):
            if value is not None:
                data[key] = str(value)
        if self.usage is not None:
            data["usage"] = self.usage
        return data


@dataclass
class SimSubscription:
    id: str
    customer_id: str
    name: str
    status: str
    creation_date: str
    renewal_date: str | None
    products: list[Product]
    last_modified: datetime
    aps_id: str = ""
    revision: int = 1
    periods: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``subscriptionPeriod`` / ``billingPeriod`` as the API sends them, where seeded."""

    def product(self, key: str) -> Product | None:
        """By MPN, or by APS resource type id (the ``sku`` the aps backend reports)."""
        return next((p for p in self.products
                     if key in (p.mpn, str(p.resource_type_id))), None)

    def changed(self, moment: datetime) -> None:
        self.last_modified = moment
        self.revision += 1

    def to_seed(self) -> dict[str, Any]:
        seed: dict[str, Any] = {"id": self.id, "name": self.name, "status": self.status,
                "creation_date": self.creation_date, "renewal_date": self.renewal_date,
                "last_modified": self.last_modified.isoformat(), "revision": self.revision,
                "aps_id": self.aps_id, "products": [p.to_seed() for p in self.products]}
        for key, field_name in (("subscriptionPeriod", "subscription_period"),
                                ("billingPeriod", "billing_period")):
            if key in self.periods:
                seed[field_name] = self.periods[key]
        return seed


@dataclass
class Customer:
    id: str
    name: str
    status: str
    aps_id: str = ""
    external_id: str | None = None

    @property
    def account_number(self) -> int:
        """The numeric account id the APS ``id`` property carries."""
        return int(self.id) if self.id.isdigit() else zlib.crc32(self.id.encode()) % 10**7


@dataclass
class Credentials:
    username: str = "api-user@msp.example"
    password: str = "sim-password"
    subscription_key: str = "sim-subscription-key"
    consumer_key: str = "sim-consumer-key"
    consumer_secret: str = "sim-consumer-secret"
    aps_token: str = "sim-aps-token"


@dataclass
class Throttle:
    """At most ``limit`` requests per ``window`` seconds (0: unlimited), on the world's clock."""

    limit: int = 0
    window: float = 1.0
    _sent: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float | None:
        """Seconds until one more request fits, or None (and the request is counted)."""
        if not self.limit:
            return None
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            self._sent.append(now)
            return None
        return self.window - (now - self._sent[0])


@dataclass
class World:
    customers: dict[str, Customer]
    subscriptions: dict[str, SimSubscription]
    marketplace: str = "us"
    credentials: Credentials = field(default_factory=Credentials)
    token_lifetime: float = 1500.0
    detail_throttle: Throttle = field(default_factory=Throttle)
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = utc_now
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> float:
        return self.clock()

    def subscription(self, key: str) -> SimSubscription | None:
        """By marketplace id or APS id."""
        with self.lock:
            found = self.subscriptions.get(key)
            if found is None:
                found = next((s for s in self.subscriptions.values() if s.aps_id == key), None)
            return found

    def customer(self, key: str) -> Customer | None:
        with self.lock:
            found = self.customers.get(key)
            if found is None:
                found = next((c for c in self.customers.values() if c.aps_id == key), None)
            return found

    def set_quantity(self, subscription_id: str, mpn: str, quantity: int | None) -> Product:
        """Change a line's licence count (None: usage-based). KeyError for unknown ids."""
        with self.lock:
            sub = self.subscription(subscription_id)
            product = sub.product(mpn) if sub else None
            if sub is None or product is None:
                raise KeyError(f"no product {mpn} in subscription {subscription_id}")
            if (product.quantity, product.usage) != (quantity, None):
                sub.changed(self.wall_clock())
            product.quantity = quantity
            product.usage = None
            return product

    def set_status(self, subscription_id: str, status: str) -> SimSubscription:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        with self.lock:
            sub = self.subscription(subscription_id)
            if sub is None:
                raise KeyError(f"no subscription {subscription_id}")
            if sub.status != status:
                sub.changed(self.wall_clock())
            sub.status = status
            return sub

    def to_seed(self) -> dict[str, Any]:
        """The current state, in the seed format (so it can be saved and reloaded)."""
        with self.lock:
            return {
                "marketplace": self.marketplace,
                "token_lifetime_seconds": self.token_lifetime,
                "detail_throttle": {"requests": self.detail_throttle.limit,
                                    "window_seconds": self.detail_throttle.window},
                "customers": [
                    {"id": c.id, "name": c.name, "status": c.status, "aps_id": c.aps_id,
                     **({"external_id": c.external_id} if c.external_id else {}),
                     "subscriptions": [s.to_seed() for s in self.subscriptions.values()
                                       if s.customer_id == c.id]}
                    for c in self.customers.values()
                ],
            }
