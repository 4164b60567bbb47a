"""Fake connectors for the core tests, discovered through the real entry-point mechanism.

``tests/fakes`` holds the package *and* its ``.dist-info``, so putting that folder on
``sys.path`` (conftest, or ``PYTHONPATH`` for a subprocess) makes ``importlib.metadata`` see an
installed distribution ``idsync-fakes`` with two entry points in the ``idsync`` group. Their
state lives in a JSON file (setting ``state_file``), so separate CLI invocations, in-process or
in subprocesses, see one consistent PSA and provider.
"""
