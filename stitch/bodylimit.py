"""Request-body limits that act while the body arrives (SPEC 7.1 and 10).

Django's ASGI handler reads a request's whole body (spooling it to memory, then to a
temporary file) before it routes the request, so a limit checked in a view comes only
after an endless chunked body has been received, from anyone, logged in or not. This
layer sits in front of Django and knows each route's limit: a declared Content-Length
over it is refused before a byte of the body is read; otherwise the bytes are counted
as they arrive and the request is refused the moment the count passes the limit. The
refusal is a JSON 413 with `Connection: close`, so the server drops the connection and
never reads the rest.

Limits are read from settings on every request (see README, "Request body limits"):
the webhook intake `WEBHOOK_MAX_BODY_BYTES`, a media upload `MEDIA_MAX_UPLOAD_BYTES` plus
`MULTIPART_ALLOWANCE` for the form's other fields and framing, anything else
`REQUEST_MAX_BODY_BYTES`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from stitch import metrics
from stitch.middleware import route_of_path

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

# Multipart framing and the upload's other fields (name, description, tags, metadata).
MULTIPART_ALLOWANCE = 1024 * 1024


@dataclass(frozen=True)
class Route:
    path: re.Pattern[str]
    methods: frozenset[str]  # empty: any method
    setting: str
    allowance: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (not self.methods or method in self.methods) and bool(self.path.match(path))


ROUTES = (
    Route(re.compile(r"^/api/webhooks/[^/]+/?$"), frozenset(), "WEBHOOK_MAX_BODY_BYTES"),
    Route(
        re.compile(r"^/api/media/?$"),
        frozenset({"POST"}),
        "MEDIA_MAX_UPLOAD_BYTES",
        MULTIPART_ALLOWANCE,
    ),
)
DEFAULT_SETTING = "REQUEST_MAX_BODY_BYTES"


def body_limit(method: str, path: str) -> int:
    """The largest body, in bytes, that `method` `path` may carry."""
    for route in ROUTES:
        if route.matches(method, path):
            return int(getattr(settings, route.setting)) + route.allowance
    return int(getattr(settings, DEFAULT_SETTING))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            # The server's HTTP parser already refused a malformed value.
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: int, scope: Scope, started: float) -> None:
    # Django never sees this request, so its metrics middleware cannot count it.
    metrics.record_request(
        method=scope["method"],
        route=route_of_path(scope["path"]),
        status=413,
        seconds=time.perf_counter() - started,
    )
    body = json.dumps(
        {"body": [f"Request body is larger than this endpoint's limit of {limit} bytes."]}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _CountingExchange:
    """receive/send for one request: counts body bytes, refuses past the limit."""

    def __init__(self, receive: Receive, send: Send, limit: int, scope: Scope):
        self._receive, self._send, self.limit, self._scope = receive, send, limit, scope
        self._started = time.perf_counter()
        self.received = 0
        self.refused = False
        self.started = False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.refused = True
                if not self.started:
                    await _refuse(self._send, self.limit, self._scope, self._started)
                # To the app this is a client that went away: Django stops reading
                # the body and answers nothing.
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the 413 is the answer; nothing the app says afterwards goes out
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class BodyLimitMiddleware:
    """ASGI middleware for HTTP scopes; other scopes pass through untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, scope, time.perf_counter())
            return
        exchange = _CountingExchange(receive, send, limit, scope)
        await self.app(scope, exchange.receive, exchange.send)
