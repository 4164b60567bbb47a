"""``idsync link ...`` and ``idsync unlink ...``: the linking flow, one level at a time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from idsync_core.cli.context import PROVIDER, IdsyncTyper, reported_errors, runtime
from idsync_core.cli.guided import guided_link
from idsync_core.cli.inputs import confirm_or_refuse, price_choice
from idsync_core.cli.onboarding import link_accepted
from idsync_core.cli.output import print_json, say
from idsync_core.cli.render import render_reconcile
from idsync_core.engine import linking
from idsync_core.engine.pricing import PriceSourceKind
from idsync_core.engine.sync import LinkOutcome

if TYPE_CHECKING:  # for annotations only: the store pulls in SQLAlchemy
    pass

JSON = typer.Option(False, "--json", help="Print the result as JSON.")

link_app = IdsyncTyper(help="Link provider objects to their PSA twins (no arguments: a "
                       "guided dialogue).", no_args_is_help=False,
                       invoke_without_command=True)
unlink_app = IdsyncTyper(help="Remove a link (its history is kept).")


@link_app.callback()
def guided(
    ctx: typer.Context,
    provider: str | None = PROVIDER,
    accept: Path | None = typer.Option(
        None, "--accept", help="Link every accepted row of a file written by `idsync suggest` "
        "(companies, then subscriptions, then resources) instead."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --accept: show every link and "
                                 "posting it would make; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --accept: do not ask, and "
                             "confirm custom costs below the PSA cost."),
    as_json: bool = typer.Option(False, "--json", help="With --accept: print JSON."),
) -> None:
    """Without a subcommand: walk through the linking flow, step by step."""
    if ctx.invoked_subcommand is not None:
        if accept is not None:
            raise typer.BadParameter("--accept takes no subcommand", param_hint="--accept")
        return
    with reported_errors():
        if accept is not None:
            link_accepted(accept, dry_run=dry_run, yes=yes, as_json=as_json)
        elif dry_run or yes or as_json:
            raise typer.BadParameter("--dry-run, --yes and --json before a subcommand go with "
                                     "--accept")
        else:
            guided_link(runtime(), provider)


@link_app.command("company")
def link_company(
    account_id: str = typer.Argument(..., help="Provider account id."),
    psa_company_id: str = typer.Argument(..., help="PSA company id."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
) -> None:
    """Link a provider customer account to a PSA company."""
    link = linking.link_company(runtime(), provider, account_id, psa_company_id)
    if as_json:
        print_json({"id": link.id, "provider": link.provider, "account_id": link.account_id,
                    "psa_company_id": link.psa_company_id})
        return
    say(f"Linked account {link.account_id} ({link.account_name}) at {link.provider} "
        f"to PSA company {link.psa_company_id} ({link.psa_company_name}).")


@link_app.command("subscription")
def link_subscription(
    subscription_id: str = typer.Argument(..., help="Provider subscription id."),
    agreement_id: str = typer.Argument(..., help="PSA agreement (contract) id."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
) -> None:
    """Link a provider subscription to an agreement of the linked PSA company."""
    link = linking.link_subscription(runtime(), provider, subscription_id, agreement_id)
    if as_json:
        print_json({"id": link.id, "provider": link.provider,
                    "subscription_id": link.subscription_id, "agreement_id": link.agreement_id})
        return
    say(f"Linked subscription {link.subscription_id} ({link.subscription_name}) to "
        f"agreement {link.agreement_id} ({link.agreement_name}).")


@link_app.command("resource")
def link_resource(
    resource_id: str = typer.Argument(..., help="Provider resource id."),
    catalog_item_id: str = typer.Argument(..., help="PSA catalog item id it bills as."),
    price_source: PriceSourceKind | None = typer.Option(
        None, "--price-source", help="Price source for this link (default: inherited, "
        "else catalog)."),
    price: str | None = typer.Option(None, "--price", help="Custom unit price."),
    cost: str | None = typer.Option(None, "--cost", help="Custom unit cost."),
    markup: str | None = typer.Option(None, "--markup", help="Markup percent on provider cost."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Confirm a custom cost below the "
                             "PSA cost without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be posted; change "
                                 "nothing."),
    provider: str | None = PROVIDER,
    as_json: bool = JSON,
) -> None:
    """Link a resource to a catalog product and bring the PSA line equal to the provider."""
    choice = price_choice(price_source, price, cost, markup)
    rt = runtime()
    result = confirm_or_refuse(
        lambda confirmed: linking.link_resource(rt, provider, resource_id, catalog_item_id,
                                                price=choice, confirmed=confirmed,
                                                dry_run=dry_run), yes)
    assert isinstance(result, LinkOutcome)
    render_reconcile(result, as_json=as_json)


def _unlink(level: linking.UnlinkLevel, provider: str | None, object_id: str) -> None:
    linking.unlink(runtime(), level, provider, object_id)
    say(f"Unlinked {level} {object_id}; its history is kept.")


@unlink_app.command("company")
def unlink_company(account_id: str, provider: str | None = PROVIDER) -> None:
    """Unlink a provider account (after its subscriptions)."""
    _unlink("company", provider, account_id)


@unlink_app.command("subscription")
def unlink_subscription(subscription_id: str, provider: str | None = PROVIDER) -> None:
    """Unlink a subscription (after its resources)."""
    _unlink("subscription", provider, subscription_id)


@unlink_app.command("resource")
def unlink_resource(resource_id: str, provider: str | None = PROVIDER) -> None:
    """Unlink a resource; IDSync stops syncing its line."""
    _unlink("resource", provider, resource_id)
