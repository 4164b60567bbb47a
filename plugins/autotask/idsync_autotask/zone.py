"""Zone discovery: which Autotask host serves a tenant.

``GET {lookup}/V1.0/zoneInformation?user=<username>`` answers ``{"zoneName", "url", "webUrl",
"ci"}`` without authentication, so the lookup is sent without any credential header. The answer
decides where our credentials go next, so it is checked: https (plain http only on loopback, for
the simulator) and a host of the same site as the lookup host (``*.autotask.net`` for the real
service). An unknown user comes back as HTTP 500 ``{"errors": [...]}``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from idsync_autotask.endpoints import API_VERSION
from idsync_autotask.settings import strip_version
from idsync_core.errors import ApiError, ConfigurationError
from idsync_core.http import ApiClient
from idsync_core.settings import BaseUrl, is_loopback_host

_BASE_URL = TypeAdapter(BaseUrl)


@dataclass(frozen=True)
class Zone:
    """A tenant's zone: ``url`` is the REST root without the version (``.../ATServicesRest``)."""

    url: str
    name: str = ""
    web_url: str = ""
    ci: int | None = None
    """The tenant database's id: a stable tenant key."""

    @property
    def api_root(self) -> str:
        return f"{self.url}/{API_VERSION}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


def _site(host: str) -> str:
    """The part of a host name two hosts must share (loopback hosts all share one)."""
    if is_loopback_host(host):
        return "loopback"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ".".join(host.lower().split(".")[-2:])
    return host


def check_zone_url(url: str, lookup_url: str) -> str:
    """The zone URL without version, refused when credentials should not go there."""
    try:
        checked = _BASE_URL.validate_python(url)
    except ValidationError:
        raise ApiError(f"the Autotask zone lookup returned an unusable URL {url!r}",
                       hint="set zone_url in the [psa] table to your zone") from None
    zone_host = urlsplit(checked).hostname or ""
    lookup_host = urlsplit(lookup_url).hostname or ""
    if _site(zone_host) != _site(lookup_host):
        raise ApiError(
            f"the Autotask zone lookup at {lookup_host} pointed at {zone_host}, another site; "
            "refusing to send credentials there",
            hint="check zone_lookup_url, or set zone_url in the [psa] table")
    return strip_version(checked)


class ZoneLocator:
    """Looks a user's zone up; wraps an :class:`ApiClient` that carries no credentials."""

    def __init__(self, http: ApiClient, username: str) -> None:
        self.http = http
        self.username = username

    def lookup(self) -> Zone:
        try:
            data: Any = self.http.get_json(f"{API_VERSION}/zoneInformation",
                                           params={"user": self.username})
        except ApiError as exc:
            if exc.status == 500:
                raise ConfigurationError(
                    f"Autotask has no zone for the API user {self.username!r}: {exc.message}",
                    hint="check [psa] username (the API user's e-mail) and zone_lookup_url",
                ) from None
            raise
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ApiError("the Autotask zone lookup answered without a zone URL",
                           hint="set zone_url in the [psa] table to your zone")
        ci = data.get("ci")
        return Zone(url=check_zone_url(data["url"], self.http.base_url),
                    name=str(data.get("zoneName") or ""), web_url=str(data.get("webUrl") or ""),
                    ci=ci if isinstance(ci, int) else None)
