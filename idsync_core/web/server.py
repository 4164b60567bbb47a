"""Serving the console: loopback by default, TLS or a proxy before anything else.

A host that is not loopback is refused unless ``--allow-remote`` is given, and then served
with a warning unless TLS is configured (``--certfile``/``--keyfile``) or ``[web]
behind_proxy`` says a TLS proxy stands in front: passwords and session cookies must not cross
a network in clear. Behind a proxy, the ``X-Forwarded-For`` / ``-Proto`` headers are believed
from ``[web] trusted_proxies`` only, so the login throttle counts the real client addresses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from idsync_core.errors import ConfigurationError, RefusedError
from idsync_core.settings import is_loopback_host

log = logging.getLogger("idsync.web")


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    allow_remote: bool
    certfile: Path | None
    keyfile: Path | None

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"


def check_listen(listen: Listen, *, behind_proxy: bool) -> list[str]:
    """Refuse what must not be served; return the warnings for what may, with care."""
    if (listen.certfile is None) != (listen.keyfile is None):
        raise RefusedError("TLS needs both --certfile and --keyfile")
    for path in (listen.certfile, listen.keyfile):
        if path is not None and not path.is_file():
            raise ConfigurationError(f"{path} does not exist or is not a file")
    if is_loopback_host(listen.host):
        return []
    if not listen.allow_remote:
        raise RefusedError(f"refusing to serve the console on {listen.host}, which is not a "
                           "loopback address", hint="add --allow-remote to serve it to the "
                           "network (with --certfile/--keyfile, or behind a TLS proxy)")
    if listen.tls or behind_proxy:
        return []
    return [f"the console is served over plain HTTP on {listen.host}: passwords and session "
            "cookies cross the network in clear; use --certfile/--keyfile, or a TLS reverse "
            "proxy with [web] behind_proxy = true"]
