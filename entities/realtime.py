"""Live updates to websocket subscribers of a canvas (SPEC section 9): the sending side.

Called from `transaction.on_commit` only, so nothing is sent for a rolled-back change.
Each payload is JSON-encoded once here; subscribers forward the text as it is.

Delivery goes through the Channels layer, from an event loop: the in-process layer keeps
asyncio queues bound to the ASGI server's loop (remembered when a socket connects), and
a process with no server (the `procrastinate worker`, a shell) can only reach anyone
through Redis, from one long-lived publisher loop thread. A committing thread never
waits for that loop: it appends its message to the loop's `Handoff` (one FIFO, so
messages of one thread keep their order) and goes on; the loop drains everything
waiting and sends runs of messages for the same groups as one layer message
(`stitch.batch`), so a burst is one publish and one decode per process, not one each.
The receiving side is entities.hub.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from rest_framework.utils.encoders import JSONEncoder

from entities.layers import OVERFLOW_TYPE
from entities.models import Entity, JourneyEvent
from entities.payloads import entity_data, event_data

logger = logging.getLogger(__name__)

# Layer message types: one SPEC 9 message, or several for the same groups in order.
MESSAGE_TYPE = "stitch.message"
BATCH_TYPE = "stitch.batch"
# Messages and characters of text in one stitch.batch (a layer message stays a few
# hundred KB: one Redis publish, one decode, not a burst's megabytes in one piece).
BATCH_MAX = 200
BATCH_MAX_CHARS = 256 * 1024
# Messages waiting for a loop that does not drain them (stopped, wedged): past this what
# waits is dropped and its groups told to resync (4408), instead of growing memory.
HANDOFF_CAPACITY = 20_000
# How long a process that exits waits for its publisher to send what is still waiting.
EXIT_FLUSH_SECONDS = 5.0

_server_loop: asyncio.AbstractEventLoop | None = None
_publisher: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
_handoffs: dict[asyncio.AbstractEventLoop, Handoff] = {}


def canvas_group(canvas_id: object) -> str:
    return f"canvas.{canvas_id}"


def bind_loop() -> None:
    """Remember the ASGI server's event loop (call from inside it)."""
    global _server_loop
    with _loop_lock:
        _server_loop = asyncio.get_running_loop()


def _never_raises(func: Callable[..., None]) -> Callable[..., None]:
    """These run after the commit: a lost live message must not turn a committed change
    into a 500 or a failed job. Clients resync from the snapshot when they reconnect."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            logger.exception("realtime %s failed", func.__name__)

    return wrapper


@_never_raises
def entity_updated(*, entity: Entity, event: JourneyEvent | None, sequence: int) -> None:
    """Broadcast `entity.updated` to the canvas group; `sequence` is the entity's
    sequence number right after this change (the entity may have moved again since).
    `event` is the move's journey event, None for a create or edit without one."""
    payload = {
        "type": "entity.updated",
        "entity": entity_data(entity),
        "event": event_data(event) if event is not None else None,
        "seq": sequence,
    }
    _broadcast([canvas_group(entity.canvas_id)], payload, entity_id=entity.pk, seq=sequence)


@_never_raises
def entity_deleted(*, entity_id: object, canvas_id: object) -> None:
    payload = {"type": "entity.deleted", "id": str(entity_id)}
    _broadcast([canvas_group(canvas_id)], payload, entity_id=entity_id)


@_never_raises
def entities_deleted(*, entity_ids: list[Any], canvas_id: object) -> None:
    """`entity.deleted` for each entity removed with its canvas (cascade)."""
    for entity_id in entity_ids:
        entity_deleted(entity_id=entity_id, canvas_id=canvas_id)


@_never_raises
def run_updated(
    *, run_id: object, flow_id: object, canvas_id: object | None, node_id: str | None, status: str
) -> None:
    """Broadcast `run.updated` to subscribers of the workflow (and of the entity's canvas)."""
    payload = {
        "type": "run.updated",
        "run_id": str(run_id),
        "flow_id": str(flow_id),
        "node_id": node_id,
        "status": status,
    }
    groups = [canvas_group(flow_id)]
    if canvas_id is not None and str(canvas_id) != str(flow_id):
        groups.append(canvas_group(canvas_id))
    _broadcast(groups, payload)


def _broadcast(
    groups: list[str], payload: dict[str, Any], *, entity_id: object = None, seq: int | None = None
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {
        "type": MESSAGE_TYPE,
        "kind": payload["type"],
        "entity_id": str(entity_id) if entity_id is not None else None,
        "seq": seq,
        "text": json.dumps(payload, cls=JSONEncoder),
    }
    _deliver(layer, groups, message)


def _deliver(layer: BaseChannelLayer, groups: list[str], message: dict[str, Any]) -> None:
    """Hand a layer message for `groups` to the loop that sends it; never waits."""
    loop = _target_loop(layer)
    if loop is not None:
        _handoff(loop, layer).push(tuple(groups), message)


def _target_loop(layer: BaseChannelLayer) -> asyncio.AbstractEventLoop | None:
    server = _server_loop
    if server is not None and server.is_running():
        return server
    try:
        return asyncio.get_running_loop()  # sync code called from a coroutine
    except RuntimeError:
        pass
    if isinstance(layer, InMemoryChannelLayer):
        return None  # no server loop here: nobody subscribed in this process
    # No server here (a worker process, a shell): publish from a long-lived loop, which
    # keeps its Redis connection, instead of async_to_sync's loop (and new connection)
    # per message, which capped a publisher at ~25 messages/s.
    return _publisher_loop()


def _handoff(loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer) -> Handoff:
    with _loop_lock:
        handoff = _handoffs.get(loop)
        if handoff is None or handoff.layer is not layer:
            for stale in [other for other in _handoffs if other.is_closed()]:
                del _handoffs[stale]
            handoff = _handoffs[loop] = Handoff(loop, layer)
        return handoff


class Handoff:
    """Messages committed by any thread, waiting for `loop` to send them to the layer.

    `push` appends and returns at once; the first push after the queue ran dry wakes
    the loop, which drains in one task (so sends keep the order of the pushes)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, layer: BaseChannelLayer):
        self.loop = loop
        self.layer = layer
        self._waiting: deque[tuple[tuple[str, ...], dict[str, Any]]] = deque()
        self._lost: set[str] = set()  # groups whose messages were dropped (overflow)
        self._lock = threading.Lock()
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    def push(self, groups: tuple[str, ...], message: dict[str, Any]) -> None:
        with self._lock:
            if len(self._waiting) >= HANDOFF_CAPACITY:
                self._drop_for_overflow()
            self._waiting.append((groups, message))
            if self._draining:
                return
            self._draining = True
        self.loop.call_soon_threadsafe(self._start)

    def _drop_for_overflow(self) -> None:
        logger.error("realtime: %s messages waiting for the event loop, dropped", HANDOFF_CAPACITY)
        for groups, _ in self._waiting:
            self._lost.update(groups)
        self._waiting.clear()

    def _start(self) -> None:
        self._task = self.loop.create_task(self._drain())

    def _take(self) -> tuple[set[str], list[tuple[tuple[str, ...], dict[str, Any]]]]:
        with self._lock:
            lost, self._lost = self._lost, set()
            waiting = list(self._waiting)
            self._waiting.clear()
            if not waiting and not lost:
                self._draining = False
            return lost, waiting

    async def _drain(self) -> None:
        while True:
            lost, waiting = self._take()
            if not waiting and not lost:
                return
            try:
                for group in lost:
                    await self.layer.group_send(group, {"type": OVERFLOW_TYPE})
                for groups, envelope in envelopes(waiting):
                    for group in groups:
                        await self.layer.group_send(group, envelope)
            except Exception:
                logger.exception("realtime: sending to the channel layer failed")

    def wait_idle(self, timeout: float) -> bool:
        """Block (another thread) until everything pushed so far was sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._draining:
                    return True
            time.sleep(0.01)
        return False


def envelopes(
    waiting: list[tuple[tuple[str, ...], dict[str, Any]]],
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Consecutive messages for the same groups as one layer message each (in order)."""
    out: list[tuple[tuple[str, ...], list[dict[str, Any]]]] = []
    chars = 0
    for groups, message in waiting:
        size = len(message.get("text", ""))
        joins = out and out[-1][0] == groups and len(out[-1][1]) < BATCH_MAX
        if joins and chars + size <= BATCH_MAX_CHARS:
            out[-1][1].append(message)
            chars += size
        else:
            out.append((groups, [message]))
            chars = size
    return [
        (groups, messages[0] if len(messages) == 1 else {"type": BATCH_TYPE, "messages": messages})
        for groups, messages in out
    ]


def _publisher_loop() -> asyncio.AbstractEventLoop:
    global _publisher
    with _loop_lock:
        if _publisher is None or _publisher.is_closed():
            _publisher = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_publisher.run_forever, name="realtime-publisher", daemon=True
            )
            thread.start()
        return _publisher


@atexit.register
def _flush_publisher() -> None:
    """A worker or a shell that exits right after a commit still publishes it."""
    publisher = _publisher
    handoff = _handoffs.get(publisher) if publisher is not None else None
    if handoff is not None and not handoff.wait_idle(EXIT_FLUSH_SECONDS):
        logger.warning("realtime: exiting with live messages not yet published")
