"""The engine: reading, planning, posting, linking and syncing, on one ``Runtime``.

Its imports follow one rule, for start-up time. Every command module of the CLI imports the
engine, and ``idsync --help`` imports every command module, yet the help needs none of what the
engine works with. So an engine module imports the store (SQLAlchemy, Alembic), the pydantic
models and settings, and the connector machinery for annotations only (``TYPE_CHECKING``); where
it needs one at run time, it imports it inside the function that does. ``tests/test_startup.py``
holds ``--help`` to that.
"""
