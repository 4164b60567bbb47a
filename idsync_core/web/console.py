"""What every page shares: the console's state, the session and role check, rendering, errors.

A page is a function of a :class:`Page` (the request, the user, the submitted form and a
runtime of its own) that returns a response. :func:`page` wraps it: no session → the login
page (no data shown); a role that may not → 403; a POST without the session's CSRF token →
403; then the function runs in a worker thread, acting as the user in the audit log, over a
:class:`Runtime` made for this request (today's date, fresh connections) on the console's one
store. An engine error becomes a page with the engine's message, never a traceback.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from idsync_core.engine.pricing import money_text
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.users import Permission, may
from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    IdsyncError,
    LockBusyError,
    NotFoundError,
    RefusedError,
)
from idsync_core.store import acting_as
from idsync_core.web.security import csrf_ok
from idsync_core.web.sessions import COOKIE, Session, SessionStore
from idsync_core.web.throttle import LoginThrottle

if TYPE_CHECKING:
    from idsync_core.plugins import PluginInfo
    from idsync_core.settings import IdsyncSettings
    from idsync_core.store import Store, User

log = logging.getLogger("idsync.web")

ROLE_NEEDED = {Permission.READ: "any user", Permission.OPERATE: "an operator or an admin",
               Permission.ADMINISTER: "an admin"}


def actor_name(user: str) -> str:
    """How the audit log names a console user."""
    return f"web:{user}"


@dataclass
class Console:
    """The running console: configuration, the one store, sessions and the login throttle."""

    settings: IdsyncSettings
    config_path: Path | None
    store: Store
    plugins: dict[str, PluginInfo]
    tls: bool = False
    clock: Callable[[], float] = time.monotonic
    sessions: SessionStore = field(init=False)
    throttle: LoginThrottle = field(init=False)
    templates: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionStore(
            idle_seconds=self.settings.web.session_idle.total_seconds(), clock=self.clock)
        self.throttle = LoginThrottle(self.clock)
        self.templates = templates()

    @property
    def secure_cookies(self) -> bool:
        """Served over TLS, here or at the proxy in front: the cookie never goes in clear."""
        return self.tls or self.settings.web.behind_proxy

    def runtime(self) -> Runtime:
        return Runtime(self.settings, config_path=self.config_path, store=self.store,
                       plugins=self.plugins)

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(name, value, httponly=True, samesite="strict",
                            secure=self.secure_cookies, path="/")

    def render(self, name: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        """A template; without a user (the login page) the page has no navigation."""
        page_values = {"user": None, "csrf": "", "flashes": [], "path": "",
                       "may": lambda _permission: False, **values}
        body = self.templates.get_template(name).render(**page_values)
        return HTMLResponse(body, status_code=status)


def templates() -> Environment:
    env = Environment(loader=PackageLoader("idsync_core.web", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money_text, qty=quantity_text, signed=signed_text, when=when_text,
                       query=query_string)
    return env


def quantity_text(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return format(value.normalize() if value == value.to_integral_value() else value, "f")


def signed_text(value: Decimal | None) -> str:
    text = quantity_text(value)
    return text if value is None or value < 0 else f"+{text}"


def when_text(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):  # stored in UTC (SQLite drops the zone); shown local
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return f"{moment.astimezone():%Y-%m-%d %H:%M}"
    return value.isoformat()


def query_string(values: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in values.items() if v not in (None, "", False)})


@dataclass
class Page:
    """One request to a page, as its function sees it."""

    request: Request
    console: Console
    session: Session
    user: User
    form: FormData | None
    runtime: Runtime

    def value(self, name: str, default: str = "") -> str:
        """A submitted form field (POST) or query parameter (GET), stripped."""
        source = self.form if self.form is not None else self.request.query_params
        found = source.get(name)
        return found.strip() if isinstance(found, str) else default

    def values(self, name: str) -> list[str]:
        source = self.form if self.form is not None else self.request.query_params
        return [v.strip() for v in source.getlist(name) if isinstance(v, str)]

    def render(self, name: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        return self.console.render(name, status=status, user=self.user, csrf=self.session.csrf,
                                   flashes=self.session.take_flashes(), path=self.request.url.path,
                                   may=lambda p: may(self.user.role, Permission(p)), **values)

    def redirect(self, path: str, *, ok: str | None = None,
                 error: str | None = None) -> RedirectResponse:
        if ok:
            self.session.flash("ok", ok)
        if error:
            self.session.flash("error", error)
        return RedirectResponse(path, status_code=303)

    def error_page(self, exc: IdsyncError) -> HTMLResponse:
        return self.render("error.html", status=status_of(exc), message=exc.message,
                           hint=exc.hint)


def status_of(exc: IdsyncError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, RefusedError | LockBusyError):
        return 409
    if isinstance(exc, ApiError):
        return 502
    if isinstance(exc, ConfigurationError):
        return 503
    return 500


Endpoint = Callable[[Request], Awaitable[Response]]


def current_session(request: Request) -> Session | None:
    console: Console = request.app.state.console
    return console.sessions.find(request.cookies.get(COOKIE))


def to_login(request: Request) -> RedirectResponse:
    wanted = request.url.path
    target = "/login" if request.method != "GET" or wanted == "/" else \
        f"/login?next={quote(wanted, safe='/')}"
    return RedirectResponse(target, status_code=303)


def page(permission: Permission) -> Callable[[Callable[[Page], Response]], Endpoint]:
    """Make a page function an endpoint that checks the session, the role and (POST) the
    CSRF token first (see the module docstring)."""

    def wrap(handler: Callable[[Page], Response]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            session = current_session(request)
            if session is None:
                return to_login(request)
            user = await run_in_threadpool(console.store.user, session.user)
            if user is None:  # removed since they logged in
                console.sessions.end(session)
                return to_login(request)
            form = await request.form() if request.method == "POST" else None
            if form is not None and not csrf_ok(form, session.csrf):
                return console.render("error.html", status=403, user=user, csrf=session.csrf,
                                      path=request.url.path,
                                      message="the form's security token is missing or "
                                              "stale; nothing was changed",
                                      hint="reload the page and try again")
            if not may(user.role, permission):
                return forbidden(console, session, user, request, permission)
            return await run_in_threadpool(run_page, handler, request, console, session, user,
                                           form)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def forbidden(console: Console, session: Session, user: User, request: Request,
              permission: Permission) -> Response:
    return console.render("error.html", status=403, user=user, csrf=session.csrf,
                          path=request.url.path, may=lambda p: may(user.role, Permission(p)),
                          message=f"your role ({user.role}) may not do this: it needs "
                                  f"{ROLE_NEEDED[permission]}",
                          hint="ask an admin for another role")


def run_page(handler: Callable[[Page], Response], request: Request, console: Console,
             session: Session, user: User, form: FormData | None) -> Response:
    rt = console.runtime()
    current = Page(request, console, session, user, form, rt)
    try:
        with acting_as(actor_name(user.name)):
            return handler(current)
    except IdsyncError as exc:
        return current.error_page(exc)
    except Exception as exc:  # a bug: say so without the traceback's locals (secrets)
        reference = secrets.token_hex(4)
        log.error("internal error %s on %s %s: %s: %s", reference, request.method,
                  request.url.path, type(exc).__name__, exc)
        return current.render("error.html", status=500,
                              message=f"internal error (reference {reference})",
                              hint="the console's log has the details; please report it")
    finally:
        rt.close_connections()
