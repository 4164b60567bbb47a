"""Notifications: one message per run, to the apprise URLs of ``[notify] urls``.

`apprise <https://github.com/caronc/apprise>`_ speaks e-mail, Microsoft Teams, Slack, plain
webhooks (``json://``) and a hundred more from one URL each, so IDSync needs no code per
service. It is imported only when a message is sent.

Secrets stay out: the message is made of names, ids, counts and the PSA's messages, and any
secret of the configuration (a connector's ``SecretStr`` settings, the tokens inside the
notification URLs) that could still be in it is masked before it leaves. A notification that
cannot be delivered is logged — naming the URL as apprise shows it with its secrets masked — and
never changes the run's result: apprise's own log stays silent, since at debug level it prints
whole URLs.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import urlsplit

from idsync_core.engine.runtime import Runtime

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.engine.runs import LinkNote, RunReport

log = logging.getLogger(__name__)

SHOWN_PER_SECTION = 25
"""Links listed per section of a message; the rest are counted ("and 12 more")."""
MASK = "***"


def notify_run(runtime: Runtime, report: RunReport) -> None:
    """Send the run's message when ``[notify] on`` asks for what happened; never raises."""
    settings = runtime.settings.notify
    if not settings.urls or not set(settings.on) & report.events():
        return
    title, body = message(report)
    kind = "failure" if "failure" in report.events() else \
        "warning" if report.events() - {"summary"} else "success"
    for problem in deliver(runtime, title, body, kind=kind):
        log.warning("%s; the run goes on as it was", problem)


def send_test(runtime: Runtime) -> list[tuple[str, str | None]]:
    """``idsync notify test``: one message to every URL; (URL as shown, problem or None)."""
    title = "IDSync test notification"
    body = (f"This is a test from IDSync on {socket.gethostname()}: the notifications of "
            "its runs reach you here.")
    return deliver_each(runtime, title, body, kind="info")


def deliver(runtime: Runtime, title: str, body: str, *, kind: str) -> list[str]:
    """Send to every URL; the problems, each naming its URL with the secrets masked."""
    return [problem for _url, problem in deliver_each(runtime, title, body, kind=kind)
            if problem is not None]


def deliver_each(runtime: Runtime, title: str, body: str, *,
                 kind: str) -> list[tuple[str, str | None]]:
    import apprise

    targets = [(number, url.get_secret_value(), instantiate(url.get_secret_value()))
               for number, url in enumerate(runtime.settings.notify.urls, 1)]
    secrets = connector_secrets(runtime)
    for _number, url, plugin in targets:
        secrets |= url_secrets(url, str(plugin.url(privacy=True)) if plugin else None)
    title, body = redact(title, secrets), redact(body, secrets)
    results: list[tuple[str, str | None]] = []
    for number, url, plugin in targets:
        if plugin is None:
            shown = f"[notify] urls #{number} ({urlsplit(url).scheme or 'no scheme'}://…)"
            results.append((shown, f"{shown} is not a URL apprise can send to"))
            continue
        shown = str(plugin.url(privacy=True))
        sender = apprise.Apprise()
        sender.add(plugin)
        with apprise_log() as said:
            try:
                delivered = bool(sender.notify(body=body, title=title, notify_type=kind))
            except Exception as exc:  # a plugin's bug must not take the run down
                delivered = False
                said.append(type(exc).__name__)
        reason = "; ".join(redact(line, secrets) for line in said)
        results.append((shown, None if delivered else
                        f"the notification to {shown} was not delivered"
                        + (f": {reason}" if reason else "")))
    return results


def instantiate(url: str) -> Any:
    """apprise's sender for one URL, or None when apprise cannot send to it."""
    import apprise

    with apprise_log():
        return apprise.Apprise.instantiate(url)


@contextmanager
def apprise_log() -> Iterator[list[str]]:
    """Collect apprise's warnings and errors instead of letting them through (its debug lines
    carry whole URLs, with their tokens)."""
    said: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    logger = logging.getLogger("apprise")
    handler = Collect(level=logging.WARNING)
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(handler)
    try:
        yield said
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def connector_secrets(runtime: Runtime) -> set[str]:
    """The values of the connectors' ``SecretStr`` settings (passwords, keys, tokens)."""
    from pydantic import SecretStr

    found: set[str] = set()
    for raw in (runtime.settings.psa, *runtime.settings.providers.values()):
        info = runtime.plugins.get(str(raw.get("plugin")))
        if info is None:
            continue
        for name, spec in info.settings_model.model_fields.items():
            if (spec.annotation is SecretStr or SecretStr in get_args(spec.annotation)) \
                    and raw.get(name):
                found.add(str(raw[name]))
    return {value for value in found if len(value) >= 4}


def url_secrets(url: str, shown: str | None) -> set[str]:
    """The parts of ``url`` that its shown form (apprise's, secrets masked) does not have; every
    part but the scheme when apprise cannot read it."""
    def parts(text: str) -> set[str]:
        return {part for part in re.split(r"[/:@?&=#,]+", text) if len(part) >= 4}

    scheme = urlsplit(url).scheme
    return parts(url) - parts(shown if shown is not None else scheme)


def redact(text: str, secrets: set[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def message(report: RunReport) -> tuple[str, str]:
    """(title, body): what a person who did not watch the run needs, once."""
    from idsync_core.engine.runs import COUNTED

    counts = ", ".join(f"{status} {report.counts[status]}" for status in COUNTED)
    if not report.ran:
        headline = f"could not run: {report.error}"
    elif report.error is not None:
        headline = f"stopped: {report.error}"
    elif report.outcome == "failures":
        headline = f"{report.counts['failed']} failed, {report.counts['waiting']} waiting"
    else:
        headline = f"done ({counts})"
    title = f"IDSync {report.command} on {socket.gethostname()}: {headline}"
    lines = [f"{report.command}, {report.started_at:%Y-%m-%d %H:%M:%S} to "
             f"{report.finished_at:%H:%M:%S} UTC: {report.outcome}"]
    if report.ran:
        lines.append(counts)
    if report.error is not None:
        lines.append(("Could not run: " if not report.ran else "Stopped early: ") + report.error)
    if report.stopped:
        lines.append("Stopped by a stop request before every link was done.")
    sections: list[tuple[str, Sequence[LinkNote]]] = [
        ("Failed", report.failures),
        ("Waiting for the outcome of an earlier posting (nothing more is posted for them "
         "until the PSA shows it)", report.waiting),
        ("Cannot be synced", report.skipped),
        ("Changed in the PSA by hand (drift)", report.drift),
    ]
    for heading, notes in sections:
        if notes:
            lines += ["", f"{heading} ({len(notes)}):"]
            lines += [f"- {n.customer}: {n.product} (resource {n.resource_id}): {n.message}"
                      for n in notes[:SHOWN_PER_SECTION]]
            lines += more(len(notes))
    if report.revenue_found:
        lines += ["", f"Revenue found: not linked, not billed ({len(report.revenue_found)}):"]
        lines += [revenue_line(row) for row in report.revenue_found[:SHOWN_PER_SECTION]]
        lines += more(len(report.revenue_found))
    hints = []
    if report.failures:
        hints.append("`idsync log --failed` lists the failures, `idsync retry` tries again")
    if report.waiting:
        hints.append("the next sync re-reads the waiting links")
    if report.revenue_found:
        hints.append("`idsync plan` lists what is not linked; `idsync link` links it")
    if hints:
        lines += ["", "Next: " + "; ".join(hints) + "."]
    return title, "\n".join(lines)


def more(total: int) -> list[str]:
    return [f"- and {total - SHOWN_PER_SECTION} more"] if total > SHOWN_PER_SECTION else []


def revenue_line(row: dict[str, Any]) -> str:
    return (f"- {row['name']} (resource {row['resource_id']}, SKU {row.get('sku') or '—'}): "
            f"{row['quantity']} on subscription {row['subscription_id']}")
