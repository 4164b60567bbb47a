"""The web console's users and what each role may do.

Three roles, each allowed what the one before it is, and more:

* **viewer** — reads every page;
* **operator** — also links, unlinks, approves, dismisses and retries;
* **admin** — also manages users and price sources.

The rule lives here, not in the console, so the CLI and the console cannot disagree on it
(DESIGN.md §8). Passwords are hashed with Argon2id (argon2-cffi); the password itself is never
stored, logged or shown, and a wrong name costs as long to refuse as a wrong password, so the
answer's timing does not tell which names exist.
"""

from __future__ import annotations

import enum
from functools import cache
from typing import TYPE_CHECKING

from idsync_core.engine.runtime import Runtime
from idsync_core.errors import NotFoundError, RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from argon2 import PasswordHasher

    from idsync_core.store import User

MIN_PASSWORD = 10
"""Characters a password needs at least: a console exposed to a network is guessed at."""


class Role(enum.StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    READ = "read"
    OPERATE = "operate"
    """Link, unlink, approve, dismiss, retry."""
    ADMINISTER = "administer"
    """Users and price sources."""


LEAST_ROLE = {Permission.READ: Role.VIEWER, Permission.OPERATE: Role.OPERATOR,
              Permission.ADMINISTER: Role.ADMIN}
RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def may(role: str, permission: Permission) -> bool:
    """Is a user of ``role`` allowed what ``permission`` covers? (An unknown role: nothing.)"""
    try:
        return RANK[Role(role)] >= RANK[LEAST_ROLE[permission]]
    except ValueError:
        return False


@cache
def hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile


@cache
def _decoy_hash() -> str:
    """A hash to check a password against when the name is unknown (same cost, never true)."""
    return hasher().hash("not a password anyone has: the user does not exist")


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise RefusedError(f"{name!r} is not a user name: 1 to 100 printable characters, no "
                           "spaces")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise RefusedError(f"the password is too short: at least {MIN_PASSWORD} characters")


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise RefusedError(f"{role!r} is not a role: viewer, operator or admin") from None


def add_user(runtime: Runtime, name: str, role: str, password: str) -> User:
    from idsync_core.store import User

    user = User(name=check_name(name), role=check_role(role).value, password_hash="")
    check_password(password)
    user.password_hash = hasher().hash(password)
    runtime.store.add_user(user)
    return user


def set_password(runtime: Runtime, name: str, password: str) -> None:
    check_password(password)
    if not runtime.store.update_user(name, password_hash=hasher().hash(password)):
        raise _unknown(name)


def set_role(runtime: Runtime, name: str, role: str) -> None:
    if not runtime.store.update_user(name, role=check_role(role).value):
        raise _unknown(name)


def remove_user(runtime: Runtime, name: str) -> None:
    if not runtime.store.remove_user(name):
        raise _unknown(name)


def _unknown(name: str) -> NotFoundError:
    return NotFoundError(f"there is no user named {name!r}", hint="`idsync user list` lists "
                                                                  "them")


def authenticate(runtime: Runtime, name: str, password: str) -> User | None:
    """The user whose name and password these are, else None (which of the two was wrong is
    not told). A hash made with older parameters is renewed on the way."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = runtime.store.user(name.strip()) if name.strip() else None
    try:
        hasher().verify(user.password_hash if user else _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if hasher().check_needs_rehash(user.password_hash):
        runtime.store.update_user(user.name, password_hash=hasher().hash(password))
    return user
