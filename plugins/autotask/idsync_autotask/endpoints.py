"""Which Autotask "object endpoint" a URL belongs to.

Autotask limits concurrent requests per (integration, object endpoint): the client takes one of
three slots per endpoint and the simulator counts requests in flight the same way, so both use
this one definition. Child URLs (``/Contracts/{id}/Services``) count as the child entity.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

API_VERSION = "V1.0"

CHILD_ENTITIES = {
    ("contracts", "services"): "ContractServices",
    ("contracts", "serviceunits"): "ContractServiceUnits",
    ("contracts", "serviceadjustments"): "ContractServiceAdjustments",
}
"""(parent, child path segment) -> the entity a child URL reads or writes."""


def api_segments(url_or_path: str) -> list[str]:
    """The path segments after ``/V1.0/`` (empty when the URL is not under a version)."""
    parts = [unquote(p) for p in urlsplit(url_or_path).path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if API_VERSION.lower() not in lowered:
        return []
    return parts[lowered.index(API_VERSION.lower()) + 1:]


def endpoint_of(url_or_path: str) -> str:
    """The entity endpoint a request counts against, lower-cased (e.g. ``contractservices``)."""
    segments = api_segments(url_or_path)
    if not segments:
        return ""
    if len(segments) >= 3 and segments[1].isdigit():
        child = CHILD_ENTITIES.get((segments[0].lower(), segments[2].lower()))
        if child:
            return child.lower()
    return segments[0].lower()
