"""The settings of a Pax8 connection (``[providers.NAME]`` with ``plugin = "pax8"``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from idsync_core.settings import BaseUrl, ConnectorSettings

MAX_PAGE_SIZE = 200
"""The largest ``size`` Pax8 accepts on a list ("The maximum page size is 200")."""


class Pax8Settings(ConnectorSettings):
    client_id: str = Field(min_length=1, description="The developer application's client id")
    client_secret: SecretStr = Field(description="The developer application's client secret")
    base_url: BaseUrl = Field(default="https://api.pax8.com/v1",
                              description="The partner API, version included")
    token_url: BaseUrl = Field(default="https://api.pax8.com/v1/token",
                               description="Where tokens are issued (OAuth 2.0 client "
                                           "credentials)")
    audience: str = Field(default="https://api.pax8.com",
                          description="The token audience of the partner endpoints")
    currency: str = Field(default="USD", min_length=3, max_length=3,
                          description="The currency the PSA bills in: prices in another "
                                      "currency are not passed on")
    usage_based_products: frozenset[str] = Field(
        default=frozenset(),
        description="Pax8 product ids billed by usage (no seat count): listed, never synced")
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
                           description="Rows per page of a list")
    timeout: float = Field(default=30.0, gt=0, le=300, description="Seconds per request")
