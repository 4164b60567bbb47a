"""The ASGI middleware that gives every simulator latency, faults, throttling and a request log.

It wraps a simulator's Starlette app; paths under ``/_sim/`` (the control routes) bypass it, so
tests can read the log or script faults without tripping them.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsync_core.simulation.faults import Fault, FaultPlan
from idsync_core.simulation.requestlog import RequestLog

CONTROL_PREFIX = "/_sim/"

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><h1>Error 1015</h1><p>You are being rate limited.</p></body></html>"
)


def default_throttle_response(retry_after: int) -> Response:
    return JSONResponse({"message": "Too many requests"}, status_code=429,
                        headers={"Retry-After": str(retry_after)})


@dataclass
class SimulatorControls:
    """Knobs and observations shared by a simulator's middleware and its control routes.

    ``rate_limit``/``rate_window``: the server-side budget (requests per window seconds; 0 is
    unlimited). ``throttle_response`` lets each simulator answer a 429 in its API's own words.
    """

    log: RequestLog = field(default_factory=RequestLog)
    faults: FaultPlan = field(default_factory=FaultPlan)
    latency_ms: int = 0
    rate_limit: int = 0
    rate_window: float = 60.0
    throttle_response: Callable[[int], Response] = default_throttle_response
    _sent: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def throttle_wait(self) -> int | None:
        """Seconds the client must wait, or None when this request fits the budget."""
        if not self.rate_limit:
            return None
        with self._lock:
            now = time.monotonic()
            while self._sent and now - self._sent[0] >= self.rate_window:
                self._sent.popleft()
            if len(self._sent) < self.rate_limit:
                self._sent.append(now)
                return None
            return max(1, math.ceil(self.rate_window - (now - self._sent[0])))

    def routes(self) -> list[Route]:
        """``/_sim/requests`` (GET the log, DELETE to clear), ``/_sim/faults`` (POST a fault,
        GET how many requests are held, DELETE all and release the held ones),
        ``/_sim/faults/release`` (POST: let held requests go on), ``/_sim/config`` (POST
        latency_ms / fault_rate / rate_limit / rate_window).
        """

        async def requests(request: Request) -> Response:
            if request.method == "DELETE":
                self.log.clear()
                return Response(status_code=204)
            return JSONResponse([e.to_json() for e in self.log.entries()])

        async def faults(request: Request) -> Response:
            if request.method == "DELETE":
                self.faults.clear()
                self.faults.release_holds()
                return Response(status_code=204)
            if request.method == "GET":
                return JSONResponse({"held": self.faults.held,
                                     "scripted": len(self.faults.scripted)})
            self.faults.add(Fault(**await request.json()))
            return Response(status_code=204)

        async def release(_request: Request) -> Response:
            self.faults.release_holds()
            return Response(status_code=204)

        async def config(request: Request) -> Response:
            body = await request.json()
            for key in ("latency_ms", "rate_limit", "rate_window"):
                if key in body:
                    setattr(self, key, body[key])
            if "fault_rate" in body:
                self.faults.fault_rate = float(body["fault_rate"])
            return JSONResponse({"latency_ms": self.latency_ms, "rate_limit": self.rate_limit,
                                 "rate_window": self.rate_window,
                                 "fault_rate": self.faults.fault_rate})

        return [
            Route("/_sim/requests", requests, methods=["GET", "DELETE"]),
            Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/_sim/faults/release", release, methods=["POST"]),
            Route("/_sim/config", config, methods=["POST"]),
        ]


class SimulatorMiddleware:
    """Pure ASGI middleware applying :class:`SimulatorControls` to every API request."""

    def __init__(self, app: ASGIApp, controls: SimulatorControls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        body = await _read_body(receive)
        status_box: list[int] = [0]

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        logged = [False]

        def log_once(*, reset: bool = False) -> None:
            if not logged[0]:
                logged[0] = True
                self.controls.log.append(method, path, query, body.decode("utf-8", "replace"),
                                         0 if reset else status_box[0],
                                         outcome="reset" if reset else "answered")

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                log_once()  # before the client can see the end of its answer
            await send(message)

        controls = self.controls
        if controls.latency_ms:
            await asyncio.sleep(controls.latency_ms / 1000)
        try:
            wait = controls.throttle_wait()
            if wait is not None:
                await controls.throttle_response(wait)(scope, replay, recording_send)
                return
            fault = controls.faults.take(method, path, after_handler=False)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.delay_ms / 1000)
                fault = None
            elif fault is not None and fault.kind == "hold":
                await asyncio.to_thread(controls.faults.hold, fault)
                fault = None
            if fault is not None:
                await _apply_fault(fault, controls, scope, replay, recording_send)
                return
            after = controls.faults.take(method, path, after_handler=True)
            if after is None:
                await self.app(scope, replay, recording_send)
                return

            async def discard(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_box[0] = message["status"]

            await self.app(scope, replay, discard)  # the write happens; its answer is lost
            await _apply_fault(after, controls, scope, replay, recording_send)
        except ConnectionAbortedError:
            log_once(reset=True)  # a reset fault: no answer reached the client
            raise
        finally:
            log_once()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _apply_fault(fault: Fault, controls: SimulatorControls, scope: Scope,
                       receive: Receive, send: Send) -> None:
    if fault.kind == "reset":
        # Start an answer and abandon it: the server closes the connection mid-response.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1000")]})
        raise ConnectionAbortedError("simulated connection reset")
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(fault.retry_after))
    response: Response
    if fault.kind == "status" and fault.status == 429 and fault.body is None:
        # a throttle answers in the API's own words
        response = controls.throttle_response(math.ceil(fault.retry_after or 1))
    elif fault.kind == "html":
        response = HTMLResponse(fault.body or CLOUDFLARE_PAGE, status_code=fault.status,
                                headers=headers)
    else:
        payload: Any = json.loads(fault.body) if fault.body else {
            "message": f"simulated fault (HTTP {fault.status})"}
        response = JSONResponse(payload, status_code=fault.status, headers=headers)
    await response(scope, receive, send)
