"""Settings of an Autotask connection (the ``[psa]`` table with ``plugin = "autotask"``).

Autotask authenticates every call with three headers (API user name, its secret and the
integration's tracking identifier) and serves each tenant from one "zone" host that is looked up
from the user name. ``zone_url`` skips that lookup (useful when the operator knows the zone and the
lookup host is unreachable); ``zone_lookup_url`` exists so a simulator can stand in for Autotask.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from idsync_core.settings import BaseUrl, ConnectorSettings

DEFAULT_ZONE_LOOKUP_URL = "https://webservices.autotask.net/ATServicesRest"
"""Any zone host answers the zone lookup; ``webservices`` is the one most clients use."""

_VERSION_SUFFIX = re.compile(r"/v1\.0$", re.IGNORECASE)


def strip_version(url: str) -> str:
    """Accept a URL with or without the ``/V1.0`` suffix: the client appends the version itself."""
    return _VERSION_SUFFIX.sub("", url.rstrip("/"))


class AutotaskSettings(ConnectorSettings):
    """Everything an Autotask connection needs; see plugins/autotask/README.md."""

    username: str = Field(min_length=3, description="the API-only user's name (an e-mail address)")
    secret: SecretStr = Field(description="the API user's secret (password)")
    integration_code: SecretStr = Field(
        description="the API tracking identifier of the integration (header ApiIntegrationCode)")
    impersonation_resource_id: int | None = Field(
        default=None, ge=0,
        description="resource to act as on writes (header ImpersonationResourceId)")
    zone_url: BaseUrl | None = Field(
        default=None,
        description="the tenant's zone, e.g. https://webservices5.autotask.net/ATServicesRest; "
        "skips the zone lookup")
    zone_lookup_url: BaseUrl = Field(
        default=DEFAULT_ZONE_LOOKUP_URL,
        description="where the zone of `username` is looked up")
    timeout: float = Field(
        default=60.0, gt=0, le=300,
        description="seconds per request (Autotask can be slow to answer large queries)")
    threshold_stop_percent: int = Field(
        default=90, ge=50, le=99,
        description="stop before the tenant's hourly request threshold reaches this percentage")
    time_scale: float = Field(
        default=1.0, ge=1, le=60,
        description="divides the client's time constants for Autotask's threshold (its "
        "60-minute window, how often its reading is refreshed): 1 for Autotask; only a "
        "simulator whose clock is scaled by the same factor (the benchmarks) wants more")

    @field_validator("zone_url", "zone_lookup_url")
    @classmethod
    def _without_version(cls, value: str | None) -> str | None:
        return strip_version(value) if value is not None else None
