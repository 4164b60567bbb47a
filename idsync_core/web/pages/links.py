"""``/links``: every link with its price source; unlink (after a confirmation); price sources
per company, agreement or link (admins).

Unlinking is :func:`linking.unlink` (children first); setting a price source is
:func:`price_sources.set_price_source` — every id checked, and a setting that would post any
product under its scope below cost opens a dialog that must be confirmed before it is stored.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from idsync_core.engine import linking, price_sources
from idsync_core.engine.pricing import PriceInputError, PriceSourceKind, Scope, parse_choice
from idsync_core.engine.users import Permission
from idsync_core.errors import ConfirmationRequired, IdsyncError
from idsync_core.web.console import Page, page

LEVELS = ("company", "subscription", "resource")


def show(p: Page, *, status: int = 200, **values: Any) -> Response:
    store = p.runtime.store
    resources = store.active_resource_links()
    by_link = {str(r.id): r for r in resources}
    settings = [{"setting": s, "applies_to": _applies_to(s.scope, s.scope_id, by_link),
                 "target": _target(s.scope, s.scope_id, by_link)}
                for s in store.price_sources()]
    form = {"scope": p.value("scope", "company"), "target": p.value("target"),
            "kind": p.value("kind", "catalog"), "price": p.value("price"),
            "cost": p.value("cost"), "markup": p.value("markup")} if p.form is not None \
        else {"scope": "company", "target": "", "kind": "catalog", "price": "", "cost": "",
              "markup": ""}
    values.setdefault("errors", {})
    return p.render("links.html", status=status, companies=store.active_company_links(),
                    subscriptions=store.active_subscription_links(), resources=resources,
                    settings=settings, kinds=list(PriceSourceKind), scopes=list(Scope),
                    form=form, **values)


def _target(scope: str, scope_id: str, by_link: dict[str, Any]) -> str | None:
    """The id a person types for the scope (a link's resource id), None for a gone link."""
    if scope != Scope.LINK:
        return scope_id
    link = by_link.get(scope_id)
    return link.resource_id if link else None


def _applies_to(scope: str, scope_id: str, by_link: dict[str, Any]) -> str:
    if scope == Scope.LINK:
        link = by_link.get(scope_id)
        return f"resource {link.resource_id} ({link.resource_name})" if link else \
            f"link {scope_id} (no longer active)"
    return f"{'PSA company' if scope == Scope.COMPANY else 'agreement'} {scope_id}"


@page(Permission.READ)
def links_page(p: Page) -> Response:
    return show(p)


@page(Permission.OPERATE)
def unlink(p: Page) -> Response:
    level, object_id, provider = p.value("level"), p.value("id"), p.value("provider") or None
    if level not in LEVELS or not object_id:
        return p.redirect("/links", error="the form named no link to remove; nothing changed")
    if p.value("confirmed") != "yes":
        return p.render("confirm_unlink.html", level=level, object_id=object_id,
                        provider=provider or "")
    try:
        linking.unlink(p.runtime, level, provider, object_id)  # type: ignore[arg-type]
    except IdsyncError as exc:
        return p.redirect("/links", error=exc.message + (f" ({exc.hint})" if exc.hint else ""))
    return p.redirect("/links", ok=f"Unlinked {level} {object_id}; its history is kept.")


@page(Permission.ADMINISTER)
def set_price_source(p: Page) -> Response:
    errors: dict[str, str] = {}
    try:
        scope = Scope(p.value("scope"))
    except ValueError:
        scope = None
        errors["scope"] = "choose company, agreement or link"
    target = p.value("target")
    if not target:
        errors["target"] = "the PSA company id, agreement id or resource id it is for"
    choice = None
    try:
        choice = parse_choice(p.value("kind") or "catalog", p.value("price"), p.value("cost"),
                              p.value("markup"))
    except PriceInputError as exc:
        for name in exc.missing or (exc.field,):
            errors[name if name != "price_source" else "kind"] = exc.message
    if p.value("action") == "cancel":
        return show(p, notice="Cancelled: nothing was stored.")
    if errors or scope is None or choice is None:
        return show(p, status=400, errors=errors)
    try:
        price_sources.set_price_source(p.runtime, scope, target, choice,
                                       confirmed=p.value("action") == "confirm")
    except ConfirmationRequired as exc:
        return show(p, confirm=exc.message)
    except IdsyncError as exc:
        return show(p, status=409 if exc.exit_code in (4, 5) else 502, errors={
            "target": exc.message + (f" ({exc.hint})" if exc.hint else "")})
    return p.redirect("/links", ok=f"Price source {choice.kind.value} set for {scope.value} "
                                   f"{target}.")


@page(Permission.ADMINISTER)
def clear_price_source(p: Page) -> Response:
    try:
        scope = Scope(p.value("scope"))
        price_sources.clear_price_source(p.runtime, scope, p.value("target"))
    except ValueError:
        return p.redirect("/links", error="the form named no price source; nothing changed")
    except IdsyncError as exc:
        return p.redirect("/links", error=exc.message)
    return p.redirect("/links", ok=f"Price source of {scope.value} {p.value('target')} "
                                   "cleared; the next less specific one applies.")
