"""``idsync web``: the web console, a second thin shell over the engine (DESIGN.md §8).

Server-rendered pages (Starlette + Jinja2) with the static files served from this package — a
few lines of JavaScript of its own, no CDN, no build step. The pages parse what was submitted,
call the same engine functions as the CLI and render the result; every rule that decides
something (may this be linked, approved, posted; who may do what) is the engine's.

Safe to expose: sessions (:mod:`.sessions`) signed and server-side with an idle timeout,
failed logins slowed then locked (:mod:`.throttle`), a CSRF token on every state change and
strict security headers (:mod:`.security`), roles checked on every request (:mod:`.console`),
loopback unless told otherwise (:mod:`.server`). Nothing of the configuration is rendered: a
page shows the engine's messages, which never carry a secret.

Imported only by the ``web`` command: Starlette, Jinja2 and argon2 are not for ``--help``.
"""
