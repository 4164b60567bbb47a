"""The console's routes (every page module's endpoints) and its middleware."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from idsync_core.web.console import Console
from idsync_core.web.pages import auth, dashboard, linkpage, links, logpage, onboarding, review
from idsync_core.web.pages import users as users_page
from idsync_core.web.security import SecurityHeaders

STATIC = Path(__file__).with_name("static")
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def create_app(console: Console, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """``allowed_hosts``: the ``Host`` names answered (a console on loopback answers only
    loopback names, so a page elsewhere cannot reach it by DNS rebinding); None: any."""
    routes = [
        Route("/login", auth.login_page, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/", dashboard.dashboard, methods=["GET"]),
        Route("/link", linkpage.link_page, methods=["GET"]),
        Route("/link", linkpage.set_relation, methods=["POST"]),
        Route("/review", review.review_page, methods=["GET"]),
        Route("/review/approve", review.approve, methods=["POST"]),
        Route("/review/dismiss", review.dismiss, methods=["POST"]),
        Route("/links", links.links_page, methods=["GET"]),
        Route("/links/unlink", links.unlink, methods=["POST"]),
        Route("/links/price-source", links.set_price_source, methods=["POST"]),
        Route("/links/price-source/clear", links.clear_price_source, methods=["POST"]),
        Route("/log", logpage.log_page, methods=["GET"]),
        Route("/log.csv", logpage.log_csv, methods=["GET"]),
        Route("/log/retry", logpage.retry, methods=["POST"]),
        Route("/onboarding", onboarding.onboarding_page, methods=["GET"]),
        Route("/onboarding", onboarding.link_accepted, methods=["POST"]),
        Route("/users", users_page.users_page, methods=["GET"]),
        Route("/users/add", users_page.add, methods=["POST"]),
        Route("/users/remove", users_page.remove, methods=["POST"]),
        Route("/users/password", users_page.password, methods=["POST"]),
        Route("/users/role", users_page.role, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders, tls=console.tls)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = console
    return app
