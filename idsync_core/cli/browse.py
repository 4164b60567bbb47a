"""Listing commands: what is on each side, with the linking flow's filters."""

from __future__ import annotations

from datetime import date

import typer

from idsync_core.cli.context import PROVIDER, IdsyncTyper, runtime
from idsync_core.cli.output import CSV, table
from idsync_core.engine import linking

JSON = typer.Option(False, "--json", help="Print a JSON array instead of a table.")
SEARCH = typer.Option(None, "--search", help="Only names containing TEXT (case-insensitive).")

companies_app = IdsyncTyper(help="List customer companies, at the PSA or at a provider.")


@companies_app.command("psa")
def companies_psa(
    search: str | None = SEARCH,
    unlinked: bool = typer.Option(
        False, "--unlinked", help="Only companies with active agreements not linked yet."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """PSA companies (with the provider accounts linked to each)."""
    rt = runtime()
    linked_accounts: dict[str, list[str]] = {}
    for link in rt.store.active_company_links():
        linked_accounts.setdefault(link.psa_company_id, []).append(link.account_id)
    rows = [{"id": company.id, "name": company.name, "identifier": company.identifier,
             "linked_accounts": linked_accounts.get(company.id, [])}
            for company in linking.psa_companies(rt, search, unlinked_only=unlinked)]
    table(rows, ["id", "name", "identifier", "linked_accounts"], as_json=as_json, as_csv=as_csv,
          title="PSA companies", empty="no PSA company matches")


@companies_app.command("provider")
def companies_provider(
    search: str | None = SEARCH,
    unlinked: bool = typer.Option(False, "--unlinked", help="Only accounts not linked yet."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Customer accounts at a provider (with the PSA company each is linked to)."""
    rt = runtime()
    connection = rt.provider(provider)
    links = {link.account_id: link for link in rt.store.active_company_links()
             if link.provider == connection.name}
    rows = []
    for account in connection.list_accounts(search):
        link = links.get(account.id)
        if unlinked and link is not None:
            continue
        rows.append({"id": account.id, "name": account.name,
                     "psa_company_id": link.psa_company_id if link else None,
                     "psa_company_name": link.psa_company_name if link else None})
    table(rows, ["id", "name", "psa_company_id", "psa_company_name"], as_json=as_json,
          as_csv=as_csv, title=f"Accounts at {connection.name}", empty="no account matches")


def register(app: typer.Typer) -> None:
    app.add_typer(companies_app, name="companies")
    for command in (agreements, subscriptions, resources, lines, catalog):
        app.command()(command)


def agreements(
    psa_company_id: str = typer.Argument(..., help="The PSA company's id."),
    include_expired: bool = typer.Option(False, "--include-expired", help="Show expired ones."),
    include_linked: bool = typer.Option(False, "--include-linked",
                                        help="Show agreements already linked."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Agreements (contracts) of a PSA company; expired and linked ones hidden by default."""
    rt = runtime()
    linked = linking.linked_agreement_ids(rt)
    rows = [
        {"id": a.id, "name": a.name, "status": a.status, "billing_cycle": a.billing_cycle,
         "start_date": a.start_date, "end_date": a.end_date,
         "expired": a.is_expired(rt.today), "linked": a.id in linked}
        for a in linking.visible_agreements(rt, psa_company_id,
                                            include_expired=include_expired,
                                            include_linked=include_linked)
    ]
    table(rows, ["id", "name", "status", "billing_cycle", "start_date", "end_date", "expired",
                 "linked"], as_json=as_json, as_csv=as_csv,
          title=f"Agreements of PSA company {psa_company_id}",
          empty="no agreement to show (try --include-expired / --include-linked)")


def subscriptions(
    account_id: str = typer.Argument(..., help="The provider account's id."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Subscriptions of a provider account, with the agreement each is linked to."""
    rt = runtime()
    connection = rt.provider(provider)
    agreement_of = {s.subscription_id: s.agreement_id for s in rt.store.active_subscription_links()
                    if s.provider == connection.name}  # one query, not one per row
    rows = [{"id": sub.id, "name": sub.name, "status": sub.status,
             "agreement_id": agreement_of.get(sub.id)}
            for sub in connection.list_subscriptions(account_id)]
    table(rows, ["id", "name", "status", "agreement_id"], as_json=as_json, as_csv=as_csv,
          title=f"Subscriptions of account {account_id}", empty="no subscription")


def resources(
    subscription_id: str = typer.Argument(..., help="The provider subscription's id."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Resources (product lines with quantities) of a provider subscription."""
    rt = runtime()
    connection = rt.provider(provider)
    item_of = {r.resource_id: r.catalog_item_id for r in rt.store.active_resource_links()
               if r.provider == connection.name}  # one query, not one per row
    rows = [{"id": res.id, "name": res.name, "sku": res.sku, "quantity": res.quantity,
             "seat_based": res.seat_based, "unit_price": res.unit_price,
             "unit_cost": res.unit_cost, "catalog_item_id": item_of.get(res.id)}
            for res in connection.list_resources(subscription_id)]
    table(rows, ["id", "name", "sku", "quantity", "seat_based", "unit_price", "unit_cost",
                 "catalog_item_id"], as_json=as_json, as_csv=as_csv,
          title=f"Resources of subscription {subscription_id}", empty="no resource")


def lines(
    agreement_id: str = typer.Argument(..., help="The PSA agreement's id."),
    as_of: str | None = typer.Option(None, "--as-of", help="Quantities as of YYYY-MM-DD "
                                     "(default today)."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Products on a PSA agreement with their quantities as of a date."""
    rt = runtime()
    day = _parse_date(as_of) if as_of else rt.today
    rows = [{"id": line.id, "name": line.name, "catalog_item_id": line.catalog_item_id,
             "quantity": line.quantity, "as_of": line.as_of, "unit_price": line.unit_price,
             "unit_cost": line.unit_cost}
            for line in rt.psa.list_lines(agreement_id, day)]
    table(rows, ["id", "name", "catalog_item_id", "quantity", "as_of", "unit_price",
                 "unit_cost"], as_json=as_json, as_csv=as_csv,
          title=f"Lines of agreement {agreement_id}",
          empty="no line on this agreement")


def catalog(search: str | None = SEARCH, as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """The PSA catalog (products / services) that lines bill as."""
    rows = [{"id": item.id, "name": item.name, "identifier": item.identifier,
             "price": item.price, "cost": item.cost, "active": item.active}
            for item in runtime().psa.list_catalog(search=search)]
    table(rows, ["id", "name", "identifier", "price", "cost", "active"], as_json=as_json,
          as_csv=as_csv, title="PSA catalog", empty="no catalog item matches")


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None
