"""Schema migrations (Alembic), applied automatically when the store is opened.

The schema is versioned: each change is a revision under ``migrations/versions``, so a store made
by an older IDSync is upgraded in place, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class NewerSchemaError(Exception):
    """The store's schema is a revision this IDSync does not know: a newer IDSync wrote it."""

    def __init__(self, revision: str, head: str | None) -> None:
        super().__init__(revision)
        self.revision, self.head = revision, head


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already).

    Raises :class:`NewerSchemaError` for a store a newer IDSync has upgraded: migrating it
    "up" from an unknown revision is impossible, and writing to it could lose what the newer
    schema holds.
    """
    current, head = current_revision(engine), head_revision(engine)
    if current == head:
        return
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
        raise NewerSchemaError(current, head)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
