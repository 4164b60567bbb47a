"""Users of the web console: ``idsync user add|list|remove|passwd`` and the roles' limits."""

from __future__ import annotations

from typing import Any

import pytest

from idsync_core.engine import users
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.users import Permission, may
from idsync_core.settings import load_settings
from idsync_fakes.world import World

PASSWORD = "correct horse battery"


def runtime() -> Runtime:
    settings, path = load_settings()
    return Runtime(settings, config_path=path)


def test_a_user_is_added_with_an_argon2_hash_and_the_password_is_never_shown(
        idsync: Any, world: World) -> None:
    added = idsync("user", "add", "ann", "--role", "operator", "--password-stdin",
                   input=PASSWORD + "\n")
    assert added.exit_code == 0, added.stderr
    assert added.stdout.strip() == "Added user ann (operator)."
    listed = idsync("user", "list", "--json")
    assert [(u["name"], u["role"]) for u in listed.json()] == [("ann", "operator")]
    rt = runtime()
    try:
        stored = rt.store.user("ann")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        audit = rt.store.audit_entries()
        assert [(e.action, e.subject) for e in audit] == [("user.add", "user:ann")]
        everything = added.stdout + added.stderr + listed.stdout + " ".join(
            e.details for e in audit)
        assert PASSWORD not in everything and stored.password_hash not in everything
        assert users.authenticate(rt, "ann", PASSWORD) is not None
        assert users.authenticate(rt, "ann", PASSWORD + "!") is None
        assert users.authenticate(rt, "nobody", PASSWORD) is None
    finally:
        rt.close()


def test_passwd_changes_the_password_and_remove_removes_the_user(idsync: Any,
                                                                 world: World) -> None:
    idsync("user", "add", "bob", "--role", "viewer", "--password-stdin", input=PASSWORD)
    changed = idsync("user", "passwd", "bob", "--password-stdin", input="another long one\n")
    assert changed.exit_code == 0 and "Changed the password of bob" in changed.stdout
    rt = runtime()
    try:
        assert users.authenticate(rt, "bob", PASSWORD) is None
        assert users.authenticate(rt, "bob", "another long one") is not None
        assert idsync("user", "remove", "bob").exit_code == 0
        assert users.authenticate(rt, "bob", "another long one") is None
        assert [e.action for e in rt.store.audit_entries()] == ["user.add", "user.password",
                                                                "user.remove"]  # oldest first
    finally:
        rt.close()


@pytest.mark.parametrize(("args", "stdin", "code", "said"), [
    (("add", "cat", "--role", "operator", "--password-stdin"), "short\n", 5,
     "at least 10 characters"),
    (("add", "cat", "--role", "owner", "--password-stdin"), PASSWORD, 2, "owner"),
    (("add", "two words", "--role", "viewer", "--password-stdin"), PASSWORD, 5,
     "is not a user name"),
    (("add", "cat", "--role", "viewer"), PASSWORD, 2, "--password-stdin"),
    (("passwd", "nobody", "--password-stdin"), PASSWORD, 4, "no user named 'nobody'"),
    (("remove", "nobody"), None, 4, "no user named 'nobody'"),
])
def test_bad_input_is_refused_and_changes_nothing(idsync: Any, world: World, args: tuple[str, ...],
                                                  stdin: str | None, code: int,
                                                  said: str) -> None:
    result = idsync("user", *args, input=stdin)
    assert result.exit_code == code, result.stderr
    assert said in result.stderr
    assert idsync("user", "list", "--json").json() == []


def test_a_second_user_of_one_name_is_refused(idsync: Any, world: World) -> None:
    idsync("user", "add", "ann", "--role", "viewer", "--password-stdin", input=PASSWORD)
    again = idsync("user", "add", "ann", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 5 and "exists already" in again.stderr
    assert [u["role"] for u in idsync("user", "list", "--json").json()] == ["viewer"]


def test_each_role_may_what_the_one_before_it_may_and_more() -> None:
    table = {role: [p for p in Permission if may(role, p)] for role in users.Role}
    assert table == {
        "viewer": [Permission.READ],
        "operator": [Permission.READ, Permission.OPERATE],
        "admin": [Permission.READ, Permission.OPERATE, Permission.ADMINISTER],
    }
    assert not may("owner", Permission.READ)
