"""Live updates to websocket subscribers of a canvas (SPEC section 9).

Called from `transaction.on_commit` only, so nothing is sent for a rolled-back change.

Delivery goes through the Channels layer. Two facts about the layers shape this module:
- the in-process layer keeps asyncio queues bound to the server's event loop, so a send
  from another thread (a request thread, an in-process job) must run *on that loop*;
  we remember the loop when a consumer connects and hand the send to it with
  `run_coroutine_threadsafe`, waiting for it so that sends from one thread keep their
  order;
- with no server loop in this process (the `procrastinate worker` process, a shell)
  only the Redis layer can reach anyone; we publish from one long-lived loop thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from rest_framework.utils.encoders import JSONEncoder

from entities.models import Entity, JourneyEvent
from entities.payloads import entity_data, event_data

logger = logging.getLogger(__name__)

# How long a committing thread waits for its message to be handed to the layer.
SEND_TIMEOUT_SECONDS = 5.0
# The group message type; consumers implement `stitch_message`.
MESSAGE_TYPE = "stitch.message"

_server_loop: asyncio.AbstractEventLoop | None = None
_publisher: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
_background: set[Any] = set()


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


async def _send_all(layer: BaseChannelLayer, groups: list[str], message: dict[str, Any]) -> None:
    for group in groups:
        await layer.group_send(group, message)


def _broadcast(
    groups: list[str], payload: dict[str, Any], *, entity_id: object = None, seq: int | None = None
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # Encoded once here, not once per subscriber: a move on a canvas watched by 100
    # sockets is one JSON encoding, and consumers forward the text as it is.
    message = {
        "type": MESSAGE_TYPE,
        "kind": payload["type"],
        "entity_id": str(entity_id) if entity_id is not None else None,
        "seq": seq,
        "text": json.dumps(payload, cls=JSONEncoder),
    }
    _deliver(layer, groups, message)


def _deliver(layer: BaseChannelLayer, groups: list[str], message: dict[str, Any]) -> None:
    server = _server_loop if _server_loop and not _server_loop.is_closed() else None
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        # Sync code called straight from a coroutine: blocking here would stall the
        # very loop that has to do the send, so schedule it and return.
        target = server if server is not None and server.is_running() else running
        _schedule(_send_all(layer, groups, message), target, same_thread=target is running)
    elif server is not None and server.is_running():
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), server)
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    elif not isinstance(layer, InMemoryChannelLayer):
        # No server here (a worker process, a shell): publish from a long-lived loop,
        # which keeps its Redis connection, instead of async_to_sync's loop (and new
        # connection) per message, which capped a publisher at ~25 messages/s.
        future = asyncio.run_coroutine_threadsafe(
            _send_all(layer, groups, message), _publisher_loop()
        )
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    # else: an in-process layer with no server loop here has no subscribers to reach.


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


def _schedule(
    coro: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop, *, same_thread: bool
) -> None:
    threadsafe = asyncio.run_coroutine_threadsafe
    future: Any = loop.create_task(coro) if same_thread else threadsafe(coro, loop)
    _background.add(future)  # keep a reference until done (tasks are weakly held)
    future.add_done_callback(_background.discard)
