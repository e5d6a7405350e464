"""The intake's fast route (issue 11): `POST /api/webhooks/{slug}/` answered by a thin
ASGI app in front of Django, with group commit on an async psycopg pool.

It sits behind `stitch.bodylimit` (413 while the body arrives, as for Django) and
answers only the ordinary case: an endpoint in this process's cache
(`webhooks.endpoints`) and a delivery that passes every check of `intake.decide` — the
same code the Django view runs. Concurrent deliveries share one statement
(`sql.EVENTS_ACCEPT`, one transaction), and each is answered after it commits.
Everything else — a cold cache, any refusal (404, 410, 400, 401 and its logged
event), a config changed since it was cached, a database error — is handed to Django
with the body already read, so those answers stay exactly the view's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from psycopg_pool import AsyncConnectionPool

from stitch import logs, metrics, observe
from stitch.middleware import HEADER, route_of_path
from webhooks import endpoints, services, sql
from webhooks.intake import Acceptable, decide

logger = logging.getLogger(__name__)
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

PATH = re.compile(r"^/api/webhooks/([A-Za-z0-9_-]{1,100})/$")
# Deliveries one statement stores at most; more wait for the next one.
MAX_GROUP = 200
# What Django's middleware adds to every answer of the intake view (SecurityMiddleware,
# XFrameOptionsMiddleware; tests/webhooks/test_intake_fast_route.py compares both).
_STATIC_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class Headers(Mapping[str, str]):
    """Request headers read the way Django's `request.headers` reads them: names without
    regard to case, `_` as `-`, repeated headers joined with commas."""

    def __init__(self, raw: list[tuple[bytes, bytes]]):
        self._values: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower().replace("_", "-")
            text = value.decode("latin-1")
            self._values[key] = f"{self._values[key]},{text}" if key in self._values else text

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower().replace("_", "-")]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass
class _Pending:
    delivery: services.Delivery
    future: asyncio.Future[tuple[bool, bool]]


def _conninfo() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    options = {
        k: v
        for k, v in db.get("OPTIONS", {}).items()
        if k not in {"pool", "server_side_binding", "isolation_level", "assume_role"}
    }
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    return {k: v for k, v in {**params, **options}.items() if v is not None}


class GroupCommit:
    """Stores deliveries in groups: while a statement runs, the deliveries arriving
    queue up, and the next statement takes them all (at most MAX_GROUP)."""

    def __init__(self, *, connections: int):
        self.connections = connections
        self.queue: list[_Pending] = []
        self.flushers = 0
        self.pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _pool(self) -> AsyncConnectionPool:
        async with self._opening:  # the first flushers must not open two pools
            if self.pool is None:
                pool = AsyncConnectionPool(
                    kwargs={**_conninfo(), "autocommit": True},
                    min_size=1,
                    max_size=self.connections,
                    open=False,
                    name="webhook-intake",
                )
                await pool.open()
                self.pool = pool
        return self.pool

    async def store(self, delivery: services.Delivery) -> tuple[bool, bool]:
        """(config still as cached, event created) once the statement committed."""
        future: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()
        self.queue.append(_Pending(delivery, future))
        if self.flushers < self.connections:
            self.flushers += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def existing(self, delivery: services.Delivery) -> services.Stored:
        pool = await self._pool()
        params = {"config": delivery.config.pk, "provider_event_id": delivery.provider_event_id}
        async with pool.connection() as conn:
            cursor = await conn.execute(sql.EVENT_EXISTING, params)
            found = await cursor.fetchone()
        if found is None:
            raise psycopg.DatabaseError("webhook event conflict without a first copy")
        return services.Stored(found[0], found[1], False)

    async def _flush(self) -> None:
        try:
            while self.queue:
                group, self.queue = self.queue[:MAX_GROUP], self.queue[MAX_GROUP:]
                try:
                    results = await self._execute(group)
                except Exception as exc:
                    # Django answers each of them on its own (the same statement, one
                    # delivery each): a refused or failed group fails no delivery.
                    for pending in group:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    continue
                for pending, result in zip(group, results, strict=True):
                    if not pending.future.done():
                        pending.future.set_result(result)
        finally:
            self.flushers -= 1

    async def _execute(self, group: list[_Pending]) -> list[tuple[bool, bool]]:
        params = services.webhook_events_accept_params([p.delivery for p in group])
        pool = await self._pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(sql.EVENTS_ACCEPT, params)
            rows = await cursor.fetchall()
        return [(bool(config_ok), bool(created)) for _n, config_ok, created in rows]


# One per event loop: an async pool belongs to the loop that opened it (uvicorn runs one
# loop per process; a test may serve from several threads in turn).
_committers: dict[asyncio.AbstractEventLoop, GroupCommit] = {}


def committer() -> GroupCommit:
    loop = asyncio.get_running_loop()
    group = _committers.get(loop)
    if group is None:
        for old in [known for known in _committers if known.is_closed()]:
            del _committers[old]
        group = _committers[loop] = GroupCommit(connections=settings.WEBHOOK_INTAKE_CONNECTIONS)
    return group


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client went away (or the body layer refused)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive for Django that hands over the body already read, then the rest."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


_route: str | None = None


def _route_name() -> str:
    global _route
    if _route is None:
        _route = route_of_path("/api/webhooks/x/")
    return _route


async def _answer(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    payload = json.dumps(body).encode()
    headers = [
        *_STATIC_HEADERS,
        (b"content-length", str(len(payload)).encode()),
        (HEADER.lower().encode(), request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class _Answer:
    """What `observe.webhook_answered` reads of a response."""

    def __init__(self, status: int):
        self.status_code = status


class IntakeRoute:
    """ASGI app: the fast route for webhook deliveries, Django for everything else."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or not settings.WEBHOOK_FAST_ROUTE:
            await self.app(scope, receive, send)
            return
        config = endpoints.cached(match.group(1))
        headers = Headers(scope.get("headers", []))
        length = headers.get("content-length")
        if config is None or (length is not None and not length.isdigit()):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is None:
            return
        with _request_context(headers) as request_id:
            handled = await self._accept(config, headers, body, send, request_id, started)
        if not handled:
            await self.app(scope, _replaying(body, receive), send)

    async def _accept(
        self,
        config: Any,
        headers: Headers,
        body: bytes,
        send: Send,
        request_id: str,
        started: float,
    ) -> bool:
        verdict = decide(config, headers, body)
        if not isinstance(verdict, Acceptable):
            return False
        group = committer()
        delivery = services.delivery(
            config=config, payload=verdict.payload, provider_event_id=verdict.provider_event_id
        )
        try:
            config_ok, created = await group.store(delivery)
            if not config_ok:
                return False
            if created:
                status, answer = 202, {"event_id": str(delivery.id), "status": "pending"}
            else:
                stored = await group.existing(delivery)
                status, answer = 200, {"event_id": str(stored.id), "status": stored.status}
        except Exception:
            # Django answers it (and reports a database error its own way).
            logger.warning("webhook fast route handed a delivery to the view", exc_info=True)
            return False
        await _answer(send, status, answer, request_id)
        observe.webhook_answered(config, _Answer(status))  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        metrics.record_request(method="POST", route=_route_name(), status=status, seconds=seconds)
        return True


@contextlib.contextmanager
def _request_context(headers: Headers) -> Iterator[str]:
    """The request id, bound like stitch.middleware binds it (its job carries it)."""
    request_id = logs.request_id_from(headers.get("x-request-id"))
    logs.bind_ids(request_id=request_id)
    yield request_id
