"""What the simulator answered, headers included: the suite's own record of each response.

The simulator's request log holds statuses, not headers, and a check of Retry-After must know
whether the 429 the client saw *said* Retry-After: a simulator whose ``throttle_response`` leaves
the header out (as Pax8's API does) would otherwise let a client that merely waits its default
pass for one that honours the header. The harness serves every simulator inside
:class:`AnswerRecorder`, which notes each response's start as it leaves the server, before the
client can have read it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sim/"


@dataclass(frozen=True)
class Answer:
    """One response: the request's method, path (no query) and query, the status and headers
    (names in lower case)."""

    method: str
    path: str
    query: str
    status: int
    headers: dict[str, str]


class AnswerRecorder:
    """ASGI middleware recording the start of every API response (control routes excluded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._answers: list[Answer] = []
        self._lock = threading.Lock()

    def answers(self) -> list[Answer]:
        with self._lock:
            return list(self._answers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in message.get("headers", [])}
                answer = Answer(scope["method"], scope["path"],
                                scope.get("query_string", b"").decode("latin-1"),
                                message["status"], headers)
                with self._lock:
                    self._answers.append(answer)
            await send(message)

        await self.app(scope, receive, record)
