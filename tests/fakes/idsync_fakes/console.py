"""The web console over a simulated tenant, for the console's HTTP and browser tests.

``console_for(tenant)`` opens the tenant's store and builds the console app exactly as
``idsync web`` does (loopback host names only); ``Clock`` lets a test move time on (the idle
timeout, the login throttle) instead of waiting; ``log_in`` goes through the login form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from idsync_core.engine import users
from idsync_core.engine.runtime import Runtime
from idsync_core.plugins import discover_plugins
from idsync_core.settings import load_settings
from idsync_core.store import Store
from idsync_core.web.app import LOOPBACK_NAMES, create_app
from idsync_core.web.console import Console
from idsync_fakes.simulated import SimulatedTenant

PASSWORDS = {"viewer": "viewer password 1", "operator": "operator password 1",
             "admin": "admin password 1"}
"""The test users: one per role, named after it."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    console: Console
    app: Starlette
    store: Store
    clock: Clock

    def runtime(self) -> Runtime:
        return self.console.runtime()


@contextmanager
def console_for(tenant: SimulatedTenant, *, tls: bool = False,
                settings_changes: dict[str, Any] | None = None) -> Iterator[Harness]:
    settings, path = load_settings(tenant.config)
    if settings_changes:
        settings = settings.model_copy(update=settings_changes)
    store = Store(tenant.store_url)
    clock = Clock()
    try:
        console = Console(settings, path, store, discover_plugins(), tls=tls, clock=clock)
        for role, password in PASSWORDS.items():
            if store.user(role) is None:
                users.add_user(console.runtime(), role, role, password)
        yield Harness(console, create_app(console, allowed_hosts=LOOPBACK_NAMES), store, clock)
    finally:
        store.close()


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: Any, role: str) -> str:
    """Log in through the form as the user of ``role``; the session's CSRF token."""
    form = client.get("/login")
    answer = client.post("/login", data={"username": role, "password": PASSWORDS[role],
                                         "csrf_token": token_in(form.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return token_in(client.get("/").text)
