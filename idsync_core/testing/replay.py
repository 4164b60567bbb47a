"""Recorded responses served as a simulator, for connectors that have no simulator of their own.

A recording is JSON (or the equivalent dict), the *seed* of a :class:`ReplaySimulator`::

    {
      "settings": {"plugin": "halopsa", "base_url": "{base_url}/api",
                   "client_id": "recorded", "client_secret": "recorded-secret"},
      "require_headers": {"Authorization": "Bearer recorded-token"},
      "exchanges": [
        {"request": {"method": "GET", "path": "/api/client", "query": {"page": "1"}},
         "response": {"status": 200, "json": {"clients": [{"id": 1, "name": "Contoso"}]}}},
        {"request": {"method": "GET", "path": "/api/client", "query": {"page": "2"}},
         "response": {"status": 200, "json": {"clients": []}}}
      ]
    }

``settings`` is the connection's settings table; ``{base_url}`` is replaced by the address the
replay is served at. Record with *fake* credentials (never real ones): ``require_headers``, when
given, must be sent exactly, else the answer is 401, which is how the suite's refused-credentials
check works on a replay. A request matches an exchange by method, path and, when the recording
gives one, the query (order does not matter). Several exchanges for one request are answered in
order and the last one repeats, so "read, post, read again" can be recorded. An unrecorded
request is answered 501 with a message naming it. ``response`` holds ``status`` (default 200),
``headers``, and ``json`` or ``text``.

The replay is wrapped in :class:`~idsync_core.simulation.SimulatorMiddleware`, so the suite's
fault injection and request log work on it as on any simulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from idsync_core.simulation import SimulatorControls, SimulatorMiddleware


def load_recording(path: str | Path) -> dict[str, Any]:
    """Read a recording file (JSON)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a recording is a JSON object")
    return data


def _query(value: object) -> tuple[tuple[str, str], ...] | None:
    """A query as sorted pairs, from a query string or a mapping (None: any query)."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(sorted(parse_qsl(value, keep_blank_values=True)))
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    raise ValueError(f"a recorded query is a string or an object, not {value!r}")


class _Exchange:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        request, response = raw["request"], raw.get("response", {})
        self.method = str(request.get("method", "GET")).upper()
        self.path = str(request["path"])
        self.query = _query(request.get("query"))
        self.status = int(response.get("status", 200))
        self.headers = {str(k): str(v) for k, v in response.get("headers", {}).items()}
        self.json = response.get("json")
        self.text = response.get("text")

    def answer(self) -> Response:
        if self.text is not None:
            return Response(self.text, status_code=self.status, headers=self.headers,
                            media_type=self.headers.get("content-type", "text/plain"))
        return JSONResponse(self.json, status_code=self.status, headers=self.headers)


class _ReplayApp:
    def __init__(self, exchanges: list[_Exchange], require_headers: Mapping[str, str]) -> None:
        self._exchanges = exchanges
        self._served: dict[int, int] = {}
        self._require = dict(require_headers)
        self._lock = threading.Lock()

    def _pick(self, method: str, path: str, query: tuple[tuple[str, str], ...]) -> _Exchange | None:
        same = [i for i, e in enumerate(self._exchanges) if (e.method, e.path) == (method, path)]
        candidates = [i for i in same if self._exchanges[i].query == query] or [
            i for i in same if self._exchanges[i].query is None]
        if not candidates:
            return None
        with self._lock:  # the n-th matching request gets the n-th exchange, then the last
            key = candidates[0]
            served = self._served.get(key, 0)
            self._served[key] = served + 1
        return self._exchanges[candidates[min(served, len(candidates) - 1)]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response: Response
        if any(request.headers.get(k) != v for k, v in self._require.items()):
            response = JSONResponse({"message": "unauthorized (replay: credentials differ from "
                                                "the recording's)"}, status_code=401)
        else:
            query = _query(request.url.query) or ()
            exchange = self._pick(request.method, request.url.path, query)
            if exchange is None:
                where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = JSONResponse({"message": f"no recorded response for "
                                                    f"{request.method} {where}"},
                                        status_code=501)
            else:
                response = exchange.answer()
        await response(scope, receive, send)


class ReplaySimulator:
    """Serve a recording (see the module docstring) as a simulator: pass the class itself as
    ``SuiteConfig(simulator=ReplaySimulator, seed=load_recording("tests/recording.json"))``."""

    def __init__(self, seed: Mapping[str, Any] | None) -> None:
        if not seed or "exchanges" not in seed or "settings" not in seed:
            raise ValueError("a ReplaySimulator needs a recording with 'settings' and "
                             "'exchanges' (see idsync_core.testing.replay)")
        self._settings = dict(seed["settings"])
        self.controls = SimulatorControls()
        app = _ReplayApp([_Exchange(e) for e in seed["exchanges"]],
                         seed.get("require_headers", {}))
        self.app = SimulatorMiddleware(app, self.controls)

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        return {key: value.replace("{base_url}", base_url.rstrip("/"))
                if isinstance(value, str) else value for key, value in self._settings.items()}
