"""Sessions: server-side, named by a signed cookie, ended after an idle timeout.

The cookie carries only a random session id, signed (itsdangerous) with a key made when the
console starts: a forged or altered cookie is refused before any lookup, and a restart ends
every session. What a session holds — the user's name, its CSRF token, messages for the next
page — stays on the server, so logging out ends it for good, not only in that browser.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page can
make the browser send it) and ``Secure`` when the console is served over TLS or behind a TLS
proxy. Before logging in, the login form gets a token of its own (a signed nonce, matched
against a cookie), so a login cannot be forged from another site either.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, Signer

COOKIE = "idsync_session"
LOGIN_COOKIE = "idsync_login"
MAX_SESSIONS = 10_000
"""Sessions kept at most; the least recently used goes first (a flood of logins cannot fill
the memory)."""


@dataclass
class Session:
    id: str
    user: str
    csrf: str
    last_seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)
    """(kind, text) messages for the next page rendered: ``ok`` or ``error``."""

    def flash(self, kind: str, text: str) -> None:
        self.flashes.append((kind, text))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    def __init__(self, *, idle_seconds: float, clock: Callable[[], float],
                 key: bytes | None = None) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        key = key or secrets.token_bytes(32)
        self._signer = Signer(key, salt="idsync-session")
        self._login_signer = Signer(key, salt="idsync-login")
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: str) -> tuple[Session, str]:
        """A new session for ``user`` and its cookie value (a fresh id: no fixation)."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session, self._signer.sign(session.id).decode()

    def find(self, cookie: str | None) -> Session | None:
        """The live session the cookie names (and mark it used), else None."""
        if not cookie:
            return None
        try:
            session_id = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def end_user(self, user: str, *, keep: Session | None = None) -> None:
        """End every session of ``user`` (removed, or a new password), but ``keep``."""
        with self._lock:
            for session in [s for s in self._sessions.values() if s.user == user]:
                if keep is None or session.id != keep.id:
                    del self._sessions[session.id]

    # -- the login form's token, before there is a session ------------------------------------

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) for one login form."""
        nonce = secrets.token_urlsafe(24)
        return nonce, self._login_signer.sign(nonce).decode()

    def login_token_matches(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            signed = self._login_signer.unsign(token).decode()
        except BadSignature:
            return False
        return secrets.compare_digest(signed, cookie)
