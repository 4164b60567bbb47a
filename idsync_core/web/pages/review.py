"""``/review``: the plan as an approval queue (:mod:`idsync_core.engine.review`).

One row per planned change: the provider and PSA quantities, the change with its effective
date, price and cost; approve or dismiss each, or select several (or all) and approve them
together. Approving posts through the exactly-once path of ``idsync apply``; the page then
says what each approved change became (posted, or skipped because it no longer holds). Also
shown: revenue found (unlinked resources, each with a link to ``/link``), drift, terminated
subscriptions, price differences, and the lines that cannot be synced or wait for an outcome.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from idsync_core.engine import review
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.users import Permission
from idsync_core.errors import IdsyncError
from idsync_core.web.console import Page, page


@page(Permission.READ)
def review_page(p: Page) -> Response:
    found = review.queue(p.runtime)
    return p.render("review.html", queue=found, report=found.report,
                    revenue=[dict(row, href=_link_href(p, row))
                             for row in found.report.unlinked_resources],
                    waiting_note=waiting_note)


def _link_href(p: Page, row: dict[str, Any]) -> str:
    """``/link`` with the customer, subscription and resource of an unlinked resource."""
    store = p.runtime.store
    sub_link = store.subscription_link(row["provider"], row["subscription_id"])
    company = store.company_link_by_id(sub_link.company_link_id) if sub_link else None
    values = {"provider": row["provider"], "account": company.account_id if company else "",
              "subscription": row["subscription_id"], "resource": row["resource_id"]}
    return "/link?" + urlencode({k: v for k, v in values.items() if v})


def chosen(p: Page) -> tuple[list[str], set[int]] | None:
    """The keys (and their links) of the row whose button was pressed, else the ticked ones;
    None when one is not of the form ``LINK_ID:KEY``."""
    items = [p.value("one")] if p.value("one") else p.values("item")
    keys, links = [], set()
    for item in items:
        link, _, key = item.partition(":")
        if not link.isdigit() or not key:
            return None
        keys.append(key)
        links.add(int(link))
    return keys, links


def _answer(p: Page, act: str) -> Response:
    picked = chosen(p)
    if picked is None:
        return p.redirect("/review", error="the form named a change that is not one; nothing "
                                           "was done")
    keys, links = picked
    if not keys:
        return p.redirect("/review", error="no change was selected; nothing was done")
    try:
        if act == "approve":
            decisions = review.approve(p.runtime, keys, link_ids=links).decisions
        else:
            decisions = review.dismiss(p.runtime, keys, link_ids=links)
    except IdsyncError as exc:
        return p.redirect("/review", error=exc.message)
    done = "posted" if act == "approve" else "dismissed"
    for decision in decisions:
        kind = "ok" if decision.status in (done, "unchanged") else "error"
        p.session.flash(kind, decision.message)
    return p.redirect("/review")


@page(Permission.OPERATE)
def approve(p: Page) -> Response:
    return _answer(p, "approve")


@page(Permission.OPERATE)
def dismiss(p: Page) -> Response:
    return _answer(p, "dismiss")
