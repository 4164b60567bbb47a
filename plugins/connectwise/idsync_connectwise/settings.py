"""Settings of a ConnectWise Manage connection: the ``[psa]`` table with ``plugin = "connectwise"``.

ConnectWise authenticates an API member with ``companyId+publicKey:privateKey`` (HTTP Basic) and
identifies the integration with a ``clientId`` header. Every URL carries a *codebase* (the
release path, e.g. ``v2025_1/``) that is looked up from the company id unless set here.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr

from idsync_core.settings import BaseUrl, ConnectorSettings

DEFAULT_API_VERSION = "2025.1"
"""The API model this connector was written against (research notes: the 2025.1 spec)."""

_CLOUD_HOST = re.compile(r"^(na|eu|au|aus|za)\.myconnectwise\.net$|^staging\.connectwisedev\.com$",
                         re.IGNORECASE)


def _api_host(url: str) -> str:
    """Refuse a ConnectWise cloud *web* host: the API answers only on its ``api-`` twin.

    Without the prefix every call fails with "SSL is required", which sends operators hunting
    for a TLS problem; naming the right host up front saves that.
    """
    host = urlsplit(url).hostname or ""
    if _CLOUD_HOST.match(host):
        raise ValueError(f"the API of {host} is served at https://api-{host.lower()}; use that")
    return url


def normalize_codebase(value: str | None) -> str | None:
    """``v2025_1``, ``/v2025_1/`` and ``v2025_1/`` all mean the path segment ``v2025_1/``."""
    if value is None:
        return None
    segment = value.strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", segment):
        raise ValueError("must be one path segment such as v2025_1 or v4_6_release")
    return segment + "/"


class PostingStrategy(enum.StrEnum):
    DELTA = "delta"
    """A new addition carries each increase; decreases cancel additions (see posting.py)."""
    UPDATE = "update"
    """The quantity of the product's current addition is replaced in place."""


class MarkerField(enum.StrEnum):
    DESCRIPTION = "description"
    INVOICE_DESCRIPTION = "invoiceDescription"


class ConnectWiseSettings(ConnectorSettings):
    """Everything a ConnectWise connection needs; see plugins/connectwise/README.md."""

    site: Annotated[BaseUrl, AfterValidator(_api_host)] = Field(
        description="the API host with its scheme, e.g. https://api-na.myconnectwise.net")
    company_id: str = Field(min_length=1, description="the company id typed at the login screen")
    public_key: str = Field(min_length=1, description="the API member's public key")
    private_key: SecretStr = Field(description="the API member's private key")
    client_id: str = Field(
        min_length=1, description="the integration's clientId (developer.connectwise.com/ClientID)")
    codebase: Annotated[str | None, AfterValidator(normalize_codebase)] = Field(
        default=None,
        description="release path such as v2025_1; default: looked up from company_id, "
        "falling back to v4_6_release")
    api_version: str = Field(
        default=DEFAULT_API_VERSION, pattern=r"^\d{4}\.\d{1,2}$",
        description="the API model version pinned in the Accept header")
    posting_strategy: PostingStrategy = Field(
        default=PostingStrategy.DELTA,
        description="delta: a new addition per increase, decreases cancel additions; "
        "update: replace the current addition's quantity")
    marker_field: MarkerField = Field(
        default=MarkerField.DESCRIPTION,
        description="addition field that carries IDSync's [idsync:KEY] marker")
    requests_per_minute: int = Field(
        default=900, ge=1, le=1000,
        description="client-side budget; ConnectWise throttles above ~1,000 requests/minute")
    budget_window_seconds: float = Field(
        default=60.0, gt=0, le=60,
        description="the window requests_per_minute is counted over: 60 (a minute, as "
        "ConnectWise counts); only a simulator with a scaled clock (the benchmarks) wants less")
    timeout: float = Field(default=30.0, gt=0, le=300, description="seconds per request")
