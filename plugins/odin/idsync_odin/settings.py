"""Settings of an ``odin`` connection: one model for both backends.

One flat table (rather than one table per backend) keeps ``idsync.toml`` simple: the operator
writes ``backend = "aps"`` and the APS credentials, or leaves ``backend`` out and writes the
marketplace ones. A validator checks that exactly the settings of the chosen backend are given,
so a credential typed for the wrong backend is reported instead of silently ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from idsync_core.settings import BaseUrl, ConnectorSettings

Backend = Literal["marketplace", "aps"]

AZURE_PLAN_MPN = "DZH318Z0BQ3Q"

MARKETPLACE_REQUIRED = ("marketplace", "username", "password", "subscription_key")
MARKETPLACE_ONLY = (*MARKETPLACE_REQUIRED, "usage_based_mpns", "detail_rate_limit")
APS_ONLY = ("consumer_key", "consumer_secret", "aps_token")


class OdinSettings(ConnectorSettings):
    """The ``[providers.NAME]`` table of an ``odin`` connection (see plugins/odin/README.md)."""

    backend: Backend = Field(
        default="marketplace",
        description="marketplace: the Ingram Micro Cloud Marketplace API (what an MSP reselling "
        "through Ingram can reach); aps: the APS REST bus of an Odin / CloudBlue Commerce "
        "platform the provider runs itself",
    )
    base_url: BaseUrl = Field(
        description="marketplace: e.g. https://api.cloud.im/marketplace/us; aps: the brand "
        "endpoint (https://portal.provider.example) or the controller (https://mn:6308)",
    )

    # -- backend "marketplace" ---------------------------------------------------------------
    marketplace: str | None = Field(default=None, description="marketplace code, e.g. us")
    username: str | None = Field(default=None, description="the API staff user")
    password: SecretStr | None = None
    subscription_key: SecretStr | None = Field(
        default=None, description="the APIM subscription key of the Marketplace API tile")
    usage_based_mpns: tuple[str, ...] | None = Field(
        default=None,
        description="MPNs listed as usage-based (never reconciled as seats) whatever quantity "
        f"the API reports; default: the Azure plan {AZURE_PLAN_MPN}",
    )

    # -- backend "aps" -----------------------------------------------------------------------
    consumer_key: str | None = Field(default=None, description="OAuth 1.0a consumer key")
    consumer_secret: SecretStr | None = Field(default=None,
                                              description="OAuth 1.0a consumer secret")
    aps_token: SecretStr | None = Field(
        default=None, description="an APS-Token (controller on port 6308) instead of OAuth")

    # -- tuning (both) -----------------------------------------------------------------------
    page_size: int = Field(default=500, ge=1, le=500,
                           description="rows per list request (the marketplace caps it at 500)")
    detail_concurrency: int = Field(
        default=4, ge=1, le=16,
        description="subscription detail requests in flight at once (the endpoint throttles)")
    detail_rate_limit: int | None = Field(
        default=None, ge=1,
        description="marketplace: at most this many subscription detail requests per "
        "detail_rate_window seconds, client-side (default: none; Ingram publishes no figure, so "
        "its 429s and Retry-After pace the requests)")
    detail_rate_window: float = Field(
        default=1.0, gt=0, le=3600, description="the window of detail_rate_limit, in seconds")
    timeout: float = Field(default=30.0, gt=0, le=300, description="seconds per request")

    @field_validator("usage_based_mpns", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``"A,B"`` (as an environment variable carries it) means ``["A", "B"]``."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _fits_backend(self) -> OdinSettings:
        given = {name for name in (*MARKETPLACE_ONLY, *APS_ONLY)
                 if getattr(self, name) is not None}
        if self.backend == "marketplace":
            missing = [name for name in MARKETPLACE_REQUIRED if name not in given]
            foreign = [name for name in APS_ONLY if name in given]
        else:
            missing = []
            has_oauth = {"consumer_key", "consumer_secret"} & given
            if has_oauth and "aps_token" in given:
                raise ValueError("give either consumer_key/consumer_secret (OAuth) or aps_token, "
                                 "not both")
            if has_oauth:
                missing = [n for n in ("consumer_key", "consumer_secret") if n not in given]
            elif "aps_token" not in given:
                missing = ["consumer_key", "consumer_secret"]
            foreign = [name for name in MARKETPLACE_ONLY if name in given]
        problems = []
        if missing:
            problems.append(f"backend {self.backend!r} needs {', '.join(missing)}")
        if foreign:
            problems.append(f"{', '.join(foreign)} only apply to the other backend")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def usage_mpns(self) -> frozenset[str]:
        if self.usage_based_mpns is None:
            return frozenset({AZURE_PLAN_MPN})
        return frozenset(self.usage_based_mpns)
