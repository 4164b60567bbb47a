"""``idsync user add|list|remove|passwd``: who may use the web console, and with which role.

Passwords are typed twice without echo, or read from stdin with ``--password-stdin`` (for
scripts); they are never an argument (shell history, ``ps``) and never printed.
"""

from __future__ import annotations

import sys

import typer

from idsync_core.cli.context import IdsyncTyper, runtime
from idsync_core.cli.output import say, table
from idsync_core.engine import users

user_app = IdsyncTyper(help="Users of the web console (`idsync web`) and their roles.")

PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from the "
                              "first line of stdin instead of asking.")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise typer.BadParameter("stdin is not a terminal: pass the password on stdin with "
                                 "--password-stdin", param_hint="--password-stdin")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True,
                                 err=True)
    return password


@user_app.command("add")
def add(name: str = typer.Argument(..., help="The name to log in with."),
        role: users.Role = typer.Option(..., "--role", help="viewer reads; operator also "
                                        "links, approves and retries; admin also manages "
                                        "users and price sources."),
        password_stdin: bool = PASSWORD_STDIN) -> None:
    """Add a user of the web console."""
    user = users.add_user(runtime(), name, role.value, read_password(password_stdin))
    say(f"Added user {user.name} ({user.role}).")


@user_app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every user and their role (never a password)."""
    rows = [{"id": u.name, "name": u.name, "role": u.role, "created_at": u.created_at,
             "updated_at": u.updated_at} for u in runtime().store.users()]
    table(rows, ["name", "role", "created_at", "updated_at"], as_json=as_json, title="Users",
          empty="no user yet (`idsync user add NAME --role admin`)")


@user_app.command("remove")
def remove(name: str) -> None:
    """Remove a user (their sessions end at their next request)."""
    users.remove_user(runtime(), name)
    say(f"Removed user {name}.")


@user_app.command("passwd")
def passwd(name: str, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a user's password."""
    users.set_password(runtime(), name, read_password(password_stdin))
    say(f"Changed the password of {name}.")
