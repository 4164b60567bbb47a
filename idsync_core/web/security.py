"""Security headers on every answer, and the CSRF check of every state change.

* **Content-Security-Policy**: scripts, styles and images from the console itself only — no
  inline script or style (the pages have none), no plugin, no framing, forms posting only to
  the console.
* **X-Frame-Options: DENY** (and ``frame-ancestors 'none'``): no other page can frame the
  console and trick a click on "Approve".
* **Referrer-Policy: no-referrer**, **X-Content-Type-Options: nosniff**, and no caching of
  pages (they show billing data); **Strict-Transport-Security** under TLS.

CSRF: every POST carries the session's token in the form field ``csrf_token``; a request
without it, or with another, is refused with 403 before anything runs.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP answer."""

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.headers = HEADERS + ([HSTS] if tls else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in self.headers if h[0] not in names]
                if not scope["path"].startswith("/static/") and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_ok(form: FormData, expected: str) -> bool:
    token = form.get("csrf_token")
    return isinstance(token, str) and bool(token) and secrets.compare_digest(token, expected)
