"""The thin ASGI route for worker callbacks, in front of Django (stitch/asgi.py).

A callback is the engine's hottest request: a worker fleet posts one per node. Through
Django it also paid for the middleware stack (sessions, CSRF, auth, messages, axes),
URL resolving, DRF's request, parsers, negotiation and renderer: about as much CPU as
the transaction itself. This route answers `POST /api/runs/{uuid}/nodes/{node}/callback/`
itself with exactly what the DRF view answers (`flows.callbacks` holds the one reading
both use), and keeps what the stack gave it: the `X-Request-ID` header and the ids on log lines,
the request and callback metrics (same route label). Anything else, other methods on
this path included, goes to Django. It sits behind `stitch.bodylimit` like Django
(stitch/asgi.py), so a body over `REQUEST_MAX_BODY_BYTES` is refused there with 413
while it arrives, and reaches this route as a client that went away.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

from flows.callbacks import Answer, callback_receive
from stitch import logs, metrics
from stitch.bodylimit import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)
# Django's `uuid` converter (lower-case hex) and `path` converter (anything, "/" too).
PATH = re.compile(
    r"^/api/runs/(?P<run_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/nodes/(?P<node_id>.+)/callback/$"
)
# The route label the Django view is counted under (stitch.middleware.route_of).
ROUTE = "/api/runs/<uuid:run_id>/nodes/<path:node_id>/callback/"
_JSON = [(b"content-type", b"application/json")]


async def _body(receive: Receive) -> bytes | None:
    """The whole body, None if the client went away (or the body layer refused it)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    data = json.dumps(body).encode()
    headers = [
        *_JSON,
        (b"content-length", str(len(data)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class CallbackRoute:
    """ASGI middleware: callbacks answered here, every other request handed to `app`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = logs.request_id_from(_header(scope, b"x-request-id"))
        run_id, node_id = match["run_id"], match["node_id"]
        with logs.bound_ids(request_id=request_id, run_id=run_id, node_id=node_id):
            answer = await self._answer(scope, receive, run_id, node_id)
            if answer is None:
                return  # the client went away, or the body layer answered 413
            await _send(send, answer.status, answer.body, request_id)
        seconds = time.perf_counter() - started
        metrics.record_request(method="POST", route=ROUTE, status=answer.status, seconds=seconds)
        metrics.record_callback(answer.result)

    async def _answer(
        self, scope: Scope, receive: Receive, run_id: str, node_id: str
    ) -> Answer | None:
        raw = await _body(receive)
        if raw is None:
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = query["token"][-1] if query.get("token") else None
        return await callback_receive(run_id=run_id, node_id=node_id, token=token, raw=raw)
