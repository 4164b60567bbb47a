"""``/login`` and ``/logout``.

The login form has a token of its own (:mod:`..sessions`); failed attempts are counted per
name and per address (:mod:`..throttle`) and an attempt made too early is refused without
checking the password. A successful login starts a new session (a new id: no fixation) and
goes to the page that was asked for, if it is one of the console's. Logins, failed logins and
logouts are in the audit log (the name tried and the address, never the password).
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idsync_core.engine import users
from idsync_core.store import acting_as
from idsync_core.web.console import Console, actor_name, current_session, to_login
from idsync_core.web.security import csrf_ok
from idsync_core.web.sessions import COOKIE, LOGIN_COOKIE
from idsync_core.web.throttle import keys_for


def safe_next(target: str | None) -> str:
    """Only a path of this console (never ``//host`` or a URL elsewhere)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy, uvicorn has put the forwarded one here)."""
    return request.client.host if request.client else "unknown"


def login_form(console: Console, *, next_path: str, username: str = "", error: str = "",
               status: int = 200) -> Response:
    cookie, token = console.sessions.login_nonce()
    response = console.render("login.html", status=status, login_token=token,
                              next_path=next_path, username=username, error=error)
    console.set_cookie(response, LOGIN_COOKIE, cookie)
    return response


async def login_page(request: Request) -> Response:
    console: Console = request.app.state.console
    if current_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return login_form(console, next_path=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    form = await request.form()
    token = form.get("csrf_token")
    if not console.sessions.login_token_matches(request.cookies.get(LOGIN_COOKIE),
                                                token if isinstance(token, str) else None):
        return login_form(console, next_path="/", status=403,
                          error="the form's security token is missing or stale; reload the "
                                "page and try again")
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    address = client_address(request)
    keys = keys_for(name, address)
    wait, locked = console.throttle.wait(keys)
    if wait > 0:
        seconds = math.ceil(wait)
        why = (f"locked after too many failed logins; try again in {math.ceil(seconds / 60)} "
               "minute(s)") if locked else f"too many failed logins; wait {seconds} s and " \
            "try again"
        return login_form(console, next_path=next_path, username=name, error=why, status=429)
    rt = console.runtime()
    user = await run_in_threadpool(users.authenticate, rt, name, password) if name else None
    if user is None:
        console.throttle.failed(keys)
        await run_in_threadpool(_audit, console, "web.login-failed", name, address)
        return login_form(console, next_path=next_path, username=name, status=401,
                          error="wrong user name or password")
    console.throttle.succeeded(keys)
    await run_in_threadpool(_audit, console, "web.login", user.name, address)
    _session, cookie = console.sessions.create(user.name)
    response = RedirectResponse(next_path, status_code=303)
    console.set_cookie(response, COOKIE, cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def _audit(console: Console, action: str, name: str, address: str) -> None:
    with acting_as(actor_name(name or "(no name)")):
        console.store.record(action, f"user:{name}", address=address)


async def logout(request: Request) -> Response:
    console: Console = request.app.state.console
    session = current_session(request)
    if session is None:
        return to_login(request)
    form = await request.form()
    if not csrf_ok(form, session.csrf):
        return console.render("error.html", status=403,
                              message="the form's security token is missing or stale; you "
                                      "are still logged in", hint="reload the page")
    console.sessions.end(session)
    await run_in_threadpool(_audit, console, "web.logout", session.user,
                            client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
