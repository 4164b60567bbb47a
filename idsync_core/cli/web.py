"""``idsync web``: serve the web console (see :mod:`idsync_core.web`)."""

from __future__ import annotations

from pathlib import Path

import typer

from idsync_core.cli import logs
from idsync_core.cli.context import runtime
from idsync_core.errors import RefusedError


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback "
                             "unless --allow-remote)."),
    port: int = typer.Option(8400, "--port", min=0, max=65535, help="Port to listen on."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow a host that is not "
                                      "loopback (use TLS, here or at a proxy)."),
    certfile: Path | None = typer.Option(None, "--certfile", help="TLS certificate (PEM)."),
    keyfile: Path | None = typer.Option(None, "--keyfile", help="TLS private key (PEM)."),
) -> None:
    """Serve the web console: linking, the review queue, links, the log and the dashboard."""
    # Imported here: the web framework, the templates and argon2 are for this command only.
    import uvicorn

    from idsync_core.settings import is_loopback_host
    from idsync_core.web.app import LOOPBACK_NAMES, create_app
    from idsync_core.web.console import Console
    from idsync_core.web.server import Listen, check_listen

    listen = Listen(host, port, allow_remote, certfile, keyfile)
    rt = runtime()
    web_settings = rt.settings.web
    try:
        warnings = check_listen(listen, behind_proxy=web_settings.behind_proxy)
    except RefusedError as exc:
        raise typer.BadParameter(exc.message + (f" ({exc.hint})" if exc.hint else ""),
                                 param_hint="--host") from None
    for warning in warnings:
        logs.warning(warning)
    if not rt.store.users():
        logs.warning("no user can log in yet: add one with `idsync user add NAME --role admin`")
    console = Console(rt.settings, rt.config_path, rt.store, rt.plugins, tls=listen.tls)
    app = create_app(console, allowed_hosts=LOOPBACK_NAMES if is_loopback_host(host) else None)
    logs.notice(f"IDSync web console on {listen.url} (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                ssl_certfile=str(certfile) if certfile else None,
                ssl_keyfile=str(keyfile) if keyfile else None,
                proxy_headers=web_settings.behind_proxy,
                forwarded_allow_ips=web_settings.trusted_proxies
                if web_settings.behind_proxy else None)
