"""The ``idsync`` command: a thin Typer app. Commands parse, call the engine and render."""
