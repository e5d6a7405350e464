"""Websocket consumer for one canvas: `/ws/flows/{canvas_id}/` (SPEC section 9)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from entities import realtime
from entities.hub import Chunk, GroupHub, Item, hub_for
from entities.layers import OVERFLOW_TYPE
from entities.models import Entity
from entities.outbox import SocketOutbox
from entities.payloads import entity_data
from flows.models import Flow
from stitch import observe
from stitch.origins import same_origin
from stitch.tokens import token_user

# The scope key under which `keep_server_send` leaves the server's own send.
SERVER_SEND = "stitch.server_send"

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# The subscriber could not keep up: reconnect and start again from a snapshot.
CLOSE_TOO_SLOW = 4408


def keep_server_send(app: Any) -> Any:
    """ASGI middleware (outside the session middleware): keeps the server's `send` in
    the websocket scope, so frames skip Channels' session wrapper, which reads the
    session on every message to act only on HTTP responses (about a tenth of the
    server's CPU with 100 sockets on a busy canvas)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await app({**scope, SERVER_SEND: send}, receive, send)

    return wrapped


class CanvasConsumer(AsyncJsonWebsocketConsumer):
    """Snapshot on connect, then the canvas's messages in commit order per entity.

    Broadcasts reach the socket through this process's hub for the canvas
    (entities.hub), which calls `deliver` with each flush; the consumer filters by
    sequence and hands the rest to its outbox, which coalesces them into frames.
    Subclasses that join groups on their own channel (the task inbox) still receive
    layer messages through `dispatch` and `stitch_message`."""

    group: str | None = None
    canvas_id: uuid.UUID
    # entity id -> sequence number of the last message delivered to this socket;
    # None until the snapshot is read (what arrives meanwhile waits in `_early`).
    seen: dict[str, Any] | None = None
    outbox: SocketOutbox | None = None
    hub: GroupHub | None = None
    _closing: asyncio.Task[None] | None = None  # the 4408 close under way

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._early: list[Chunk] = []
        self._early_chars = 0

    async def connect(self) -> None:
        # The in-process layer's queues live on this loop; senders in other threads
        # need to know it (see entities.realtime).
        realtime.bind_loop()
        # Accept before refusing: a close before the handshake completes reaches the
        # client as a bare HTTP 403, without the 4403/4404 code the contract names.
        await self.accept()
        refusal = await self._refusal()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.group = realtime.canvas_group(self.canvas_id)
        observe.websocket_opened(self)
        self.outbox = SocketOutbox(self._send_text, limit=settings.REALTIME_SOCKET_BUFFER_BYTES)
        # Join before reading the snapshot so no move falls between the two; the
        # sequence numbers then drop anything the snapshot already shows.
        self.hub = hub_for(self.group)
        await self.hub.join(self)
        entities, seen = await self._snapshot()
        if self.outbox is None:  # closed meanwhile (fell behind already)
            return
        self.outbox.put(json.dumps({"type": "snapshot", "entities": entities}, cls=JSONEncoder))
        self.seen = seen
        early, self._early = self._early, []
        self.deliver(early)

    async def _send_text(self, text: str) -> None:
        send = self.scope.get(SERVER_SEND) or self.base_send
        await send({"type": "websocket.send", "text": text})

    def deliver(self, chunks: list[Chunk]) -> None:
        """Messages of one hub flush: forward those newer than what this socket has."""
        if self.outbox is None:
            return
        if self.seen is None:
            self._early.extend(chunks)
            self._early_chars += sum(len(chunk.text) for chunk in chunks)
            if self._early_chars > settings.REALTIME_SOCKET_BUFFER_BYTES:
                self.overflowed()
            return
        entries: list[tuple[str, int]] = []
        for chunk in chunks:
            fresh = self._fresh(chunk.items)
            if fresh is None:
                entries.append((chunk.text, len(chunk.items)))
            elif fresh:
                entries.append((",".join(item.text for item in fresh), len(fresh)))
        if entries and not self.outbox.add(entries):
            self.overflowed()

    def _fresh(self, items: list[Item]) -> list[Item] | None:
        """None when every item is new to this socket, else the ones that are. Two
        moves of one entity commit in lock order, but their after-commit sends race;
        never let an older position overwrite a newer one."""
        assert self.seen is not None
        seen, stale = self.seen, 0
        kept: list[Item] = []
        for item in items:
            entity_id = item.entity_id
            if entity_id is not None and item.kind == "entity.updated" and item.seq is not None:
                if item.seq <= seen.get(entity_id, -1):
                    stale += 1
                    continue
                seen[entity_id] = item.seq
            elif entity_id is not None and item.kind == "entity.deleted":
                seen[entity_id] = float("inf")
            kept.append(item)
        return None if not stale else kept

    def overflowed(self) -> None:
        """This socket lost messages or cannot keep up: close it with 4408 (soon: this
        runs inside the hub's flush)."""
        if self.outbox is None or self._closing is not None:
            return
        self._closing = asyncio.get_running_loop().create_task(self._too_slow())

    async def _leave(self) -> None:
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hub.leave(self)
        if self.outbox is not None:
            await self.outbox.close()

    async def disconnect(self, code: int) -> None:
        observe.websocket_closed(self)
        await self._leave()

    async def _too_slow(self) -> None:
        """Past the buffer: stop receiving, drop what waits, close with 4408. The close
        frame queues behind what the connection already holds; a client that never
        reads again is ended by the server's ping timeout."""
        if self.outbox is None:
            return
        await self._leave()
        self.outbox = None
        observe.slow_subscriber_closed(self)
        # The client may be gone already (uvicorn raises ClientDisconnected).
        with contextlib.suppress(Exception):
            await self.close(code=CLOSE_TOO_SLOW)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """The socket is server-to-client only; client frames (even non-JSON) are ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Messages on this consumer's own layer channel (subclasses that join groups):
        forwarding a broadcast touches no database, so skip Channels' per-message
        close_old_connections(), a thread hop per message."""
        kind = message.get("type")
        if kind == OVERFLOW_TYPE:  # the layer's buffer overflowed
            await self._too_slow()
        elif kind == realtime.MESSAGE_TYPE:
            await self.stitch_message(message)
        elif kind == realtime.BATCH_TYPE:
            for each in message["messages"]:
                await self.stitch_message(each)
        else:
            await super().dispatch(message)

    async def stitch_message(self, message: dict[str, Any]) -> None:
        """A broadcast received on this consumer's own channel: as if from the hub."""
        item = Item(message["kind"], message.get("entity_id"), message.get("seq"), message["text"])
        self.deliver([Chunk([item], item.text)])

    @database_sync_to_async
    def _refusal(self) -> int | None:
        user = self._user()
        if user is None:
            return CLOSE_FORBIDDEN
        try:
            canvas_id = uuid.UUID(str(self.scope["url_route"]["kwargs"]["canvas_id"]))
        except ValueError:
            return CLOSE_NOT_FOUND
        owner_id = Flow.objects.filter(pk=canvas_id).values_list("owner_id", flat=True).first()
        if owner_id is None:
            return CLOSE_NOT_FOUND
        if owner_id != user.pk:
            return CLOSE_FORBIDDEN
        self.canvas_id = canvas_id
        return None

    def _user(self) -> Any:
        """`?token=` (an unexpired API token) wins over the session cookie; None if
        neither. Browsers send the session cookie with a websocket opened by any site,
        so a cookie-authenticated socket must come from a page of this site (Origin)."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            return token_user(query["token"][-1])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not same_origin(self.scope):
            return None
        return user

    @database_sync_to_async
    def _snapshot(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        entities = list(Entity.objects.filter(canvas_id=self.canvas_id))
        seen = {str(entity.pk): entity.sequence for entity in entities}
        return [entity_data(entity) for entity in entities], seen
