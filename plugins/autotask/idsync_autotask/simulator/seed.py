"""The simulator's seed: a JSON document describing one Autotask tenant.

The format is documented in plugins/autotask/README.md ("Simulator seed"); records are written
as Autotask returns them (camelCase fields), plus two seed-only conveniences: ``units`` on a
contract service (held from the contract's start) and ``adjustments`` (history applied in order).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from idsync_autotask.simulator.schema import ENTITIES
from idsync_autotask.simulator.state import Refused, Tenant, utc_now


class _SeedModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class ApiUser(_SeedModel):
    user_name: str
    secret: str


class Zone(_SeedModel):
    zone_name: str = "Simulated Zone"
    ci: int = 30595


class Threshold(_SeedModel):
    limit: int = Field(default=10_000, ge=1)
    used: int = Field(default=0, ge=0)
    """Requests other integrations already made this hour."""
    latency_ms: dict[int, int] = Field(default_factory=lambda: {50: 500, 75: 1000})


class Seed(_SeedModel):
    zone: Zone = Field(default_factory=Zone)
    api_users: list[ApiUser] = Field(min_length=1)
    integration_codes: list[str] = Field(min_length=1)
    threshold: Threshold = Field(default_factory=Threshold)
    thread_limit: int = Field(default=3, ge=1)
    companies: list[dict[str, Any]] = Field(default_factory=list)
    services: list[dict[str, Any]] = Field(default_factory=list)
    contracts: list[dict[str, Any]] = Field(default_factory=list)
    contract_services: list[dict[str, Any]] = Field(default_factory=list)
    adjustments: list[dict[str, Any]] = Field(default_factory=list)


def example_seed() -> dict[str, Any]:
    """The shipped demo tenant (``seed_example.json``)."""
    text = files("idsync_autotask.simulator").joinpath("seed_example.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_seed(data: dict[str, Any] | None) -> Seed:
    try:
        return Seed.model_validate(example_seed() if data is None else data)
    except ValidationError as exc:
        raise ValueError(f"invalid Autotask simulator seed: {exc}") from None


def build_tenant(seed: Seed, now: Callable[[], datetime] = utc_now) -> Tenant:
    """A tenant holding the seed's records, with its units and adjustment history applied;
    ``now`` is the clock of the dates it stamps (records without theirs get the load time)."""
    tenant = Tenant(now)
    where = "seed"
    try:
        for key, rows in (("companies", seed.companies), ("services", seed.services),
                          ("contracts", seed.contracts)):
            for row in rows:
                where = f"{key} {row.get('id')}"
                tenant.insert(ENTITIES[key], row)
        for row in seed.contract_services:
            where = f"contractServices {row.get('id')}"
            values = {k: v for k, v in row.items() if k != "units"}
            cs = tenant.add_contract_service(values)
            if row.get("units"):
                tenant.seed_units(cs, int(row["units"]))
        for row in seed.adjustments:
            where = f"adjustment {row}"
            tenant.adjust(row)
    except Refused as exc:
        raise ValueError(f"invalid Autotask simulator seed ({where}): {exc}") from None
    return tenant
