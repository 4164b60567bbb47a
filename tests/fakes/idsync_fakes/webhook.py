"""A webhook on loopback that records what it receives: the target of the notification tests
(apprise's ``json://127.0.0.1:PORT/...`` posts each message there as JSON)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    """Each message's JSON body, with the request's path and headers under ``_request``."""

    def url(self, secret: str = "hook-secret-token") -> str:
        """An apprise URL to this webhook whose password is ``secret`` (sent as basic auth)."""
        return f"json://idsync:{secret}@127.0.0.1:{self.port}/notify"


@contextmanager
def webhook() -> Iterator[Webhook]:
    hook = Webhook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["_request"] = {"path": self.path, "headers": dict(self.headers)}
            hook.received.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
