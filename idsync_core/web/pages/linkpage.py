"""``/link``: Creating the Relationship — the seed's five steps on one page.

1. search the provider customer; 2. pick its PSA company (only companies with unlinked
contracts, by default); 3. pick the subscription and the contract ("show expired", "show
linked"); 4. pick the resource and the PSA product (the likely one preselected: the SKU's
product mapping, else the same SKU, else the closest name); 5. the price source — then
**Set Relation**, or a dry-run **Preview**.

Every list comes from the engine's filters (:func:`linking.psa_companies`,
:func:`linking.visible_agreements`, :func:`linking.linkable_resources`,
:func:`linking.likely_products`), and Set Relation is :func:`linking.link_chain`: nothing is
stored until every rule of every step holds, and a cost below the PSA cost or a product that
matches neither SKU nor name opens a dialog that must be confirmed first. The page is one form
that posts back to itself as the steps are chosen (``action=update``: nothing changes); the
same fields also work as a GET query, so other pages link here with the steps filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from idsync_core.engine import linking
from idsync_core.engine.planning import PlannedChange
from idsync_core.engine.pricing import PriceChoice, PriceInputError, PriceSourceKind, parse_choice
from idsync_core.engine.reader import Reader
from idsync_core.engine.sync import LinkOutcome
from idsync_core.engine.users import Permission
from idsync_core.errors import ConfirmationRequired, IdsyncError, LockBusyError
from idsync_core.web.console import Page, page

if TYPE_CHECKING:
    from idsync_core.models import (
        Agreement,
        CatalogItem,
        Company,
        ProviderAccount,
        Resource,
        Subscription,
    )
    from idsync_core.store import CompanyLink, SubscriptionLink

SHOWN_ACCOUNTS = 200


@dataclass
class Steps:
    """What the page shows for the choices made so far."""

    providers: list[str]
    provider: str = ""
    q: str = ""
    accounts: list[ProviderAccount] = field(default_factory=list)
    more_accounts: int = 0
    account: ProviderAccount | None = None
    company_link: CompanyLink | None = None
    unlinked_only: bool = True
    companies: list[Company] = field(default_factory=list)
    company: str = ""
    subscriptions: list[tuple[Subscription, bool]] = field(default_factory=list)
    subscription: Subscription | None = None
    sub_link: SubscriptionLink | None = None
    show_expired: bool = False
    show_linked: bool = False
    agreements: list[Agreement] = field(default_factory=list)
    agreement: str = ""
    resources: list[Resource] = field(default_factory=list)
    resource: Resource | None = None
    products: list[CatalogItem] = field(default_factory=list)
    item: str = ""
    kind: str = ""
    price: str = ""
    cost: str = ""
    markup: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def flag(p: Page, name: str, *, default: bool) -> bool:
    """A check box sent with a hidden "0" before it: absent entirely means the default."""
    values = p.values(name)
    return default if not values else "1" in values


def steps(p: Page) -> Steps:
    """Read the choices (form or query) and everything the page lists for them."""
    rt = p.runtime
    s = Steps(providers=rt.provider_names, kind=p.value("kind"), price=p.value("price"),
              cost=p.value("cost"), markup=p.value("markup"))
    s.provider = p.value("provider") or (s.providers[0] if len(s.providers) == 1 else "")
    if s.provider not in s.providers:
        if p.value("provider"):
            s.errors["provider"] = f"there is no provider connection named {s.provider!r}"
        s.provider = ""
        return s
    store = rt.store
    reader = Reader(rt)
    s.q = p.value("q")
    account_id = p.value("account")
    if account_id:
        s.account = reader.accounts(s.provider).get(account_id)
        if s.account is None:
            s.errors["account"] = f"account {account_id} does not exist at {s.provider}"
    if s.account is None:
        found = list(rt.provider(s.provider).list_accounts(s.q or None))
        s.accounts, s.more_accounts = found[:SHOWN_ACCOUNTS], max(0, len(found) - SHOWN_ACCOUNTS)
        return s
    s.company_link = store.company_link(s.provider, s.account.id)
    if s.company_link is None:
        s.unlinked_only = flag(p, "unlinked_only", default=True)
        s.companies = linking.psa_companies(rt, None, unlinked_only=s.unlinked_only)
        s.company = p.value("company")
    company_id = s.company_link.psa_company_id if s.company_link else s.company
    subscriptions = reader.subscriptions(s.provider, s.account.id)
    s.subscriptions = [(sub, store.subscription_link(s.provider, sub.id) is not None)
                       for sub in subscriptions.values()]
    s.subscription = subscriptions.get(p.value("subscription"))
    if s.subscription is None:
        return s
    s.sub_link = store.subscription_link(s.provider, s.subscription.id)
    if s.sub_link is None:
        s.show_expired = flag(p, "show_expired", default=False)
        s.show_linked = flag(p, "show_linked", default=False)
        if company_id:
            s.agreements = linking.visible_agreements(rt, company_id,
                                                      include_expired=s.show_expired,
                                                      include_linked=s.show_linked)
        s.agreement = p.value("agreement")
    s.resources = linking.linkable_resources(rt, s.provider, s.subscription.id)
    s.resource = next((r for r in s.resources if r.id == p.value("resource")), None)
    if s.resource is not None:
        s.products = linking.likely_products(rt, s.provider, s.resource,
                                             s.subscription.commitment_term)
        s.item = p.value("item") or (s.products[0].id if s.products else "")
    return s


def chain(s: Steps) -> linking.LinkChain | None:
    """The chain to check, or None with what is missing put next to its field."""
    needed = [("account", s.account), ("subscription", s.subscription),
              ("resource", s.resource), ("item", s.item)]
    if s.company_link is None:
        needed.insert(1, ("company", s.company))
    if s.sub_link is None:
        needed.insert(3, ("agreement", s.agreement))
    for name, value in needed:
        if not value:
            s.errors.setdefault(name, f"choose the {LABELS[name]}")
    price: PriceChoice | None = None
    try:
        price = parse_choice(s.kind or None, s.price, s.cost, s.markup)
    except PriceInputError as exc:
        for missing in exc.missing or (exc.field,):
            s.errors[missing if missing != "price_source" else "kind"] = exc.message
    if s.errors:
        return None
    assert s.account and s.subscription and s.resource
    return linking.LinkChain(
        provider=s.provider, account_id=s.account.id, subscription_id=s.subscription.id,
        resource_id=s.resource.id, catalog_item_id=s.item,
        psa_company_id=None if s.company_link else s.company,
        agreement_id=None if s.sub_link else s.agreement, price=price)


LABELS = {"account": "customer", "company": "PSA company", "subscription": "subscription",
          "agreement": "agreement", "resource": "resource", "item": "PSA product"}


def show(p: Page, s: Steps, *, status: int = 200, **values: Any) -> Response:
    return p.render("link.html", status=status, s=s, kinds=list(PriceSourceKind),
                    psa=_psa_title(p), status_of=change_status, **values)


def change_status(outcome: LinkOutcome, change: PlannedChange) -> str:
    """What became of one change of a reconciliation, in words."""
    key = change.adjustment.idempotency_key
    if outcome.dry_run:
        return "would be posted"
    posting = next((r for r in outcome.postings if r.change.adjustment.idempotency_key == key),
                   None)
    if posting is None:
        return "held for review" if change in outcome.held else "not posted"
    return str(posting.status) + (f" ({posting.error})" if posting.error else "")


def _psa_title(p: Page) -> str:
    try:
        return p.runtime.psa.title
    except IdsyncError:
        return "the PSA"


@page(Permission.READ)
def link_page(p: Page) -> Response:
    return show(p, steps(p))


@page(Permission.OPERATE)
def set_relation(p: Page) -> Response:
    s = steps(p)
    action = p.value("action", "update")
    if action == "cancel":
        return show(p, s, notice="Cancelled: nothing was stored.")
    if action not in ("preview", "link", "confirm"):
        return show(p, s)
    wanted = chain(s)
    if wanted is None:
        return show(p, s, status=400)
    try:
        if action == "preview":
            outcome, to_confirm = linking.preview_chain(p.runtime, wanted)
            return show(p, s, outcome=outcome, warnings=to_confirm, preview=True)
        outcome = linking.link_chain(p.runtime, wanted, confirmed=action == "confirm")
    except ConfirmationRequired as exc:
        return show(p, s, confirm=exc.message)
    except LockBusyError:  # only the reconciliation takes the lock: the links are stored
        return show(p, steps(p), status=409, refused=LockBusyError(
            "Linked, but not reconciled yet: a sync is running; the next sync brings the line "
            "equal", hint="see /review for what it will post"))
    except IdsyncError as exc:
        return show(p, s, status=409 if exc.exit_code in (4, 5, 8) else 502, refused=exc)
    return show(p, steps(p), outcome=outcome, linked=_linked_text(wanted, s, outcome))


def _linked_text(wanted: linking.LinkChain, s: Steps, outcome: LinkOutcome) -> list[str]:
    assert s.account and s.subscription and s.resource
    said = []
    if wanted.psa_company_id is not None:
        name = next((c.name for c in s.companies if c.id == wanted.psa_company_id),
                    wanted.psa_company_id)
        said.append(f"Linked {s.account.name} to PSA company {name}.")
    if wanted.agreement_id is not None:
        name = next((a.name for a in s.agreements if a.id == wanted.agreement_id),
                    wanted.agreement_id)
        said.append(f"Linked {s.subscription.name} to agreement {name}.")
    link = outcome.plan.link
    said.append(f"Linked {link.resource_name} to {link.catalog_item_name} "
                f"[{link.catalog_item_id}].")
    return said
