"""The thin ASGI route for worker callbacks, in front of Django (stitch/asgi.py).

A callback is the engine's hottest request: a worker fleet posts one per node. Through
Django it also paid for the middleware stack (sessions, CSRF, auth, messages, axes),
URL resolving, DRF's request, parsers, negotiation and renderer: about as much CPU as
the transaction itself. This route answers `POST /api/runs/{uuid}/nodes/{node}/callback/`
itself with exactly what the DRF view answers (`flows.callbacks` holds the one reading
both use), and keeps what the stack gave it: the body limit while the body arrives
(413, `REQUEST_MAX_BODY_BYTES`), the `X-Request-ID` header and the ids on log lines,
the request and callback metrics (same route label). Anything else, other methods on
this path included, goes to Django.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

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


class TooLarge(Exception):
    pass


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, None if the client went away; TooLarge past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
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
    if status == 413:
        # The rest of the body is never read: the connection cannot be reused.
        headers.append((b"connection", b"close"))
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
                return  # the client went away before its body arrived
            await _send(send, answer.status, answer.body, request_id)
        seconds = time.perf_counter() - started
        metrics.record_request(method="POST", route=ROUTE, status=answer.status, seconds=seconds)
        if answer.result != "too_large":
            metrics.record_callback(answer.result)

    async def _answer(
        self, scope: Scope, receive: Receive, run_id: str, node_id: str
    ) -> Answer | None:
        limit = int(settings.REQUEST_MAX_BODY_BYTES)
        declared = _header(scope, b"content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise TooLarge
            raw = await _body(receive, limit)
        except TooLarge:
            message = f"Request body is larger than this endpoint's limit of {limit} bytes."
            return Answer(413, {"body": [message]}, "too_large")
        if raw is None:
            return None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = query["token"][-1] if query.get("token") else None
        return await callback_receive(run_id=run_id, node_id=node_id, token=token, raw=raw)
