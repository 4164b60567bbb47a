"""``/users`` (admins): who may use the console, with which role — the same engine functions as
``idsync user add|remove|passwd``. A removed user's sessions end at once, and so do a user's
other sessions when their password is changed."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from idsync_core.engine import users
from idsync_core.engine.users import Permission
from idsync_core.errors import IdsyncError, RefusedError
from idsync_core.web.console import Page, page


def show(p: Page, *, status: int = 200, **values: Any) -> Response:
    values.setdefault("errors", {})
    values.setdefault("form", {"name": "", "role": "viewer"})
    return p.render("users.html", status=status, people=p.runtime.store.users(),
                    roles=list(users.Role), **values)


@page(Permission.ADMINISTER)
def users_page(p: Page) -> Response:
    return show(p)


def _password_errors(p: Page, errors: dict[str, str]) -> str:
    password = p.form.get("password") if p.form is not None else None
    password = password if isinstance(password, str) else ""
    repeated = p.form.get("password2") if p.form is not None else None
    try:
        users.check_password(password)
    except RefusedError as exc:
        errors["password"] = exc.message
    if password != repeated:
        errors["password2"] = "the two passwords differ"
    return password


@page(Permission.ADMINISTER)
def add(p: Page) -> Response:
    errors: dict[str, str] = {}
    name, role = p.value("name"), p.value("role")
    for field, check in (("name", users.check_name), ("role", users.check_role)):
        try:
            check(name if field == "name" else role)
        except RefusedError as exc:
            errors[field] = exc.message
    password = _password_errors(p, errors)
    form = {"name": name, "role": role}
    if errors:
        return show(p, status=400, errors=errors, form=form)
    try:
        user = users.add_user(p.runtime, name, role, password)
    except IdsyncError as exc:
        return show(p, status=409, errors={"name": exc.message}, form=form)
    return p.redirect("/users", ok=f"Added user {user.name} ({user.role}).")


@page(Permission.ADMINISTER)
def remove(p: Page) -> Response:
    name = p.value("name")
    try:
        users.remove_user(p.runtime, name)
    except IdsyncError as exc:
        return p.redirect("/users", error=exc.message)
    p.console.sessions.end_user(name)
    return p.redirect("/users", ok=f"Removed user {name}; their sessions are over.")


@page(Permission.ADMINISTER)
def password(p: Page) -> Response:
    name = p.value("name")
    errors: dict[str, str] = {}
    new = _password_errors(p, errors)
    if errors:
        return show(p, status=400, password_errors={name: errors})
    try:
        users.set_password(p.runtime, name, new)
    except IdsyncError as exc:
        return p.redirect("/users", error=exc.message)
    p.console.sessions.end_user(name, keep=p.session)
    return p.redirect("/users", ok=f"Changed the password of {name}.")


@page(Permission.ADMINISTER)
def role(p: Page) -> Response:
    name, new = p.value("name"), p.value("role")
    try:
        users.set_role(p.runtime, name, new)
    except IdsyncError as exc:
        return p.redirect("/users", error=exc.message)
    return p.redirect("/users", ok=f"{name} is now {new}.")
