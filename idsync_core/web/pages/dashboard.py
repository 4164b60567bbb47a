"""``/``: the dashboard — connection health, the last runs, open failures, postings whose
outcome is awaited, and who holds the sync lock (:mod:`idsync_core.engine.overview`)."""

from __future__ import annotations

from starlette.responses import Response

from idsync_core.engine.overview import overview
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.users import Permission
from idsync_core.web.console import Page, page


@page(Permission.READ)
def dashboard(p: Page) -> Response:
    found = overview(p.runtime)
    return p.render("dashboard.html", overview=found, waiting_note=waiting_note)
