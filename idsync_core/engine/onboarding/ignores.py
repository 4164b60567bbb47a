"""Ignore rules: provider objects left out of suggestions and of the "revenue found" report.

The free trial, the internal tenant, the SKU billed by hand: an operator says once that they are
not to be linked, with a reason, and every report lists them as ignored instead of as work left.
Ignoring an account covers its subscriptions and resources; ignoring a subscription covers its
resources; ignoring a SKU covers every resource with it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from idsync_core.engine.runtime import Runtime
from idsync_core.errors import NotFoundError, RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import Resource
    from idsync_core.store import IgnoreRule, Store


class IgnoreKind(enum.StrEnum):
    ACCOUNT = "account"
    SUBSCRIPTION = "subscription"
    RESOURCE = "resource"
    SKU = "sku"


def ignore(runtime: Runtime, provider: str, kind: IgnoreKind, object_id: str,
           reason: str = "") -> IgnoreRule:
    """Record (or replace) the rule; audited by the store."""
    if not object_id.strip():
        raise RefusedError(f"an empty {kind.value} id cannot be ignored")
    from idsync_core.store import IgnoreRule

    rule = IgnoreRule(provider=provider, kind=kind.value, object_id=object_id,
                      reason=reason.strip())
    runtime.store.add_ignore_rule(rule)
    return rule


def unignore(runtime: Runtime, provider: str, kind: IgnoreKind, object_id: str) -> None:
    if not runtime.store.remove_ignore_rule(provider, kind.value, object_id):
        raise NotFoundError(f"no ignore rule for {kind.value} {object_id} at {provider}",
                            hint="`idsync ignore list` shows them")


@dataclass(frozen=True)
class IgnoreSet:
    """Every rule, looked up by object (read once for a whole report)."""

    reasons: dict[tuple[str, str, str], str]

    @classmethod
    def load(cls, store: Store) -> IgnoreSet:
        return cls({(r.provider, r.kind, r.object_id): r.reason for r in store.ignore_rules()})

    def why(self, provider: str, kind: IgnoreKind, object_id: str) -> str | None:
        """``"ignored account A-9: internal tenant"`` when a rule covers it, else None."""
        reason = self.reasons.get((provider, kind.value, object_id))
        if reason is None:
            return None
        return f"ignored {kind.value} {object_id}" + (f": {reason}" if reason else "")

    def why_resource(self, provider: str, account_id: str | None, subscription_id: str,
                     resource: Resource) -> str | None:
        """The rule that leaves this resource out, from the widest (its account) down."""
        checks = [(IgnoreKind.SUBSCRIPTION, subscription_id), (IgnoreKind.RESOURCE, resource.id),
                  (IgnoreKind.SKU, resource.sku)]
        if account_id is not None:
            checks.insert(0, (IgnoreKind.ACCOUNT, account_id))
        for kind, object_id in checks:
            if object_id and (found := self.why(provider, kind, object_id)):
                return found
        return None
