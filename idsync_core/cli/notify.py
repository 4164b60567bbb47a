"""``idsync notify test``: one message to every ``[notify] urls`` target, to prove they work."""

from __future__ import annotations

from idsync_core.cli import logs
from idsync_core.cli.context import IdsyncTyper, runtime
from idsync_core.cli.output import say
from idsync_core.errors import ApiError, ConfigurationError

notify_app = IdsyncTyper(help="Notifications of unattended runs ([notify] urls, on).")


@notify_app.command("test")
def notify_test() -> None:
    """Send a test message to every notification URL; exit 6 when one is not delivered."""
    from idsync_core.engine.notify import send_test

    rt = runtime()
    if not rt.settings.notify.urls:
        raise ConfigurationError("no notification URL is configured",
                                 hint="set [notify] urls = [\"...\"] (apprise URLs) or "
                                      "IDSYNC_NOTIFY__URLS")
    results = send_test(rt)
    for shown, problem in results:
        if problem is None:
            say(f"sent: {shown}")
        else:
            logs.error(problem, label="failed")
    failed = sum(problem is not None for _shown, problem in results)
    if failed:
        raise ApiError(f"{failed} of {len(results)} notification(s) could not be delivered",
                       hint="check the URL, and that this machine can reach the service")
