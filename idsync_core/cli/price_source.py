"""``idsync price-source ...``: where posting prices come from, per company/agreement/link."""

from __future__ import annotations

import typer

from idsync_core.cli.context import PROVIDER, IdsyncTyper, runtime
from idsync_core.cli.inputs import confirm_or_refuse, price_choice
from idsync_core.cli.output import CSV, out, table
from idsync_core.engine import price_sources
from idsync_core.engine.pricing import PriceSourceKind, Scope

price_app = IdsyncTyper(help="Set, list and clear price sources (most specific wins: link, "
                        "agreement, company; default catalog).")


def _scope(company: str | None, agreement: str | None,
           resource: str | None) -> tuple[Scope, str]:
    """The scope the options name (exactly one of them), and the id given for it."""
    chosen = [(scope, value) for scope, value in ((Scope.COMPANY, company),
                                                  (Scope.AGREEMENT, agreement),
                                                  (Scope.LINK, resource)) if value is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --company, --agreement or --resource")
    return chosen[0]


@price_app.command("set")
def set_source(
    kind: PriceSourceKind = typer.Argument(..., help="catalog | agreement | custom | "
                                           "provider | markup"),
    company: str | None = typer.Option(None, "--company", help="PSA company id."),
    agreement: str | None = typer.Option(None, "--agreement", help="PSA agreement id."),
    resource: str | None = typer.Option(None, "--resource", help="A linked resource's id."),
    price: str | None = typer.Option(None, "--price", help="Custom unit price."),
    cost: str | None = typer.Option(None, "--cost", help="Custom unit cost."),
    markup: str | None = typer.Option(None, "--markup", help="Markup percent."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Confirm a custom cost below the PSA "
                             "cost."),
    provider: str | None = PROVIDER,
) -> None:
    """Set the price source for a company, an agreement or one linked resource."""
    scope, object_id = _scope(company, agreement, resource)
    choice = price_choice(kind, price, cost, markup)
    assert choice is not None
    rt = runtime()
    confirm_or_refuse(lambda confirmed: price_sources.set_price_source(
        rt, scope, object_id, choice, confirmed=confirmed, provider=provider), yes)
    out.print(f"Price source for {scope.value} {object_id}: {kind.value}.")


@price_app.command("list")
def list_sources(as_json: bool = typer.Option(False, "--json", help="Print a JSON array "
                                              "instead of a table."),
                 as_csv: bool = CSV) -> None:
    """Every price-source setting, named by what it applies to (settings of removed links,
    which no longer apply to anything, are left out)."""
    store = runtime().store
    companies = {c.psa_company_id: c.psa_company_name for c in store.active_company_links()}
    agreements = {s.agreement_id: s.agreement_name for s in store.active_subscription_links()}
    resources = {str(r.id): r for r in store.active_resource_links()}
    rows = []
    for s in store.price_sources():
        if s.scope == Scope.LINK.value:
            link = resources.get(s.scope_id)
            if link is None:
                continue
            name = f"resource {link.resource_id} ({link.resource_name})"
        else:
            known = (companies if s.scope == Scope.COMPANY.value else agreements).get(s.scope_id)
            name = f"{s.scope} {s.scope_id}" + (f" ({known})" if known else "")
        rows.append({"id": s.id, "name": name, "scope": s.scope, "scope_id": s.scope_id,
                     "kind": s.kind, "price": s.price, "cost": s.cost,
                     "markup_percent": s.markup_percent})
    table(rows, ["name", "kind", "price", "cost", "markup_percent"],
          as_json=as_json, as_csv=as_csv, title="Price sources",
          empty="no price source set (catalog applies)")


@price_app.command("clear")
def clear_source(
    company: str | None = typer.Option(None, "--company"),
    agreement: str | None = typer.Option(None, "--agreement"),
    resource: str | None = typer.Option(None, "--resource"),
    provider: str | None = PROVIDER,
) -> None:
    """Remove a setting; the next less specific one applies again."""
    scope, object_id = _scope(company, agreement, resource)
    price_sources.clear_price_source(runtime(), scope, object_id, provider)
    out.print(f"Cleared the price source of {scope.value} {object_id}.")
