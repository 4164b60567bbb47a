"""A store that cannot be used is the operator's to fix: exit 3, naming the store and what to do
— never "internal error … report it"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


def unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root ignores permissions: use a read-only file system
        return Path("/proc")
    return folder


@pytest.mark.parametrize("problem", ["random bytes", "a text file", "parent is a file",
                                     "unwritable folder", "a folder"])
def test_store_problems_are_configuration_errors(problem: str, idsync: Any,
                                                 tmp_path: Path) -> None:
    target = tmp_path / "store.db"
    if problem == "random bytes":
        target.write_bytes(os.urandom(4096))
    elif problem == "a text file":
        target.write_text("these are my notes\n")
    elif problem == "parent is a file":
        (tmp_path / "notes").write_text("x")
        target = tmp_path / "notes" / "store.db"
    elif problem == "unwritable folder":
        target = unwritable_folder(tmp_path) / "store.db"
    else:
        target = tmp_path
    result = idsync("--db", f"sqlite:///{target}", "links")
    assert result.exit_code == 3, result.stderr
    assert f"the store {target}" in result.stderr or f"store {target}:" in result.stderr
    assert "hint: " in result.stderr and "[store] url" in result.stderr
    assert "internal error" not in result.stderr


def test_a_store_url_with_a_password_never_shows_it(idsync: Any) -> None:
    result = idsync("--db", "postgresql+psycopg://idsync:hunter2@127.0.0.1:1/idsync", "links")
    assert result.exit_code == 3
    assert "postgresql+psycopg://idsync:***@127.0.0.1:1/idsync" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_store_written_by_a_newer_idsync_is_a_configuration_error(idsync: Any,
                                                                   tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from idsync_core.store import Store

    target = tmp_path / "store.db"
    Store(f"sqlite:///{target}").close()
    engine = create_engine(f"sqlite:///{target}")
    with engine.begin() as connection:  # what a later IDSync's migration leaves behind
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    before = target.read_bytes()
    result = idsync("--db", f"sqlite:///{target}", "links")
    assert result.exit_code == 3, result.stderr
    said = " ".join(result.stderr.split())
    assert "has schema revision 0999, written by a newer IDSync" in said
    assert "internal error" not in said and target.read_bytes() == before
