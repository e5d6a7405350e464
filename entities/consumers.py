"""Websocket consumer for one canvas: `/ws/flows/{canvas_id}/` (SPEC section 9)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from entities import realtime
from entities.layers import OVERFLOW_TYPE
from entities.models import Entity
from entities.outbox import SocketOutbox
from entities.payloads import entity_data
from flows.models import Flow
from stitch import observe
from stitch.origins import same_origin
from stitch.tokens import token_user

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# The subscriber could not keep up: reconnect and start again from a snapshot.
CLOSE_TOO_SLOW = 4408


class CanvasConsumer(AsyncJsonWebsocketConsumer):
    """Snapshot on connect, then the canvas group's messages in commit order per entity."""

    group: str | None = None
    canvas_id: uuid.UUID
    # entity id -> sequence number of the last message delivered to this socket
    seen: dict[str, Any]
    outbox: SocketOutbox | None = None

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
        # Join before reading the snapshot so no move falls between the two; the
        # sequence numbers then drop anything the snapshot already shows.
        await self.channel_layer.group_add(self.group, self.channel_name)
        entities, self.seen = await self._snapshot()
        self.outbox = SocketOutbox(self._send_text, limit=settings.REALTIME_SOCKET_BUFFER_BYTES)
        snapshot = {"type": "snapshot", "entities": entities}
        self.outbox.put(json.dumps(snapshot, cls=JSONEncoder))

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def _leave(self) -> None:
        if self.group is not None:
            group, self.group = self.group, None
            await self.channel_layer.group_discard(group, self.channel_name)
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
        await self.close(code=CLOSE_TOO_SLOW)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """The socket is server-to-client only; client frames (even non-JSON) are ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") == OVERFLOW_TYPE:  # the layer's buffer overflowed
            await self._too_slow()
            return
        if message.get("type") == realtime.MESSAGE_TYPE:
            # Forwarding a broadcast touches no database, so skip Channels' per-message
            # close_old_connections(): a thread hop that took about a third of the
            # server's CPU when 100 sockets watched a busy canvas (bench/realtime.py).
            await self.stitch_message(message)
            return
        await super().dispatch(message)

    async def stitch_message(self, message: dict[str, Any]) -> None:
        """A group message from entities.realtime; its `text` is the JSON to forward."""
        entity_id, seq = message.get("entity_id"), message.get("seq")
        if message["kind"] == "entity.updated" and entity_id is not None and seq is not None:
            # Two moves of one entity commit in lock order, but their after-commit
            # sends race; never let an older position overwrite a newer one.
            if seq <= self.seen.get(entity_id, -1):
                return
            self.seen[entity_id] = seq
        elif message["kind"] == "entity.deleted" and entity_id is not None:
            self.seen[entity_id] = float("inf")
        if self.outbox is not None and not self.outbox.put(message["text"]):
            await self._too_slow()

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
