"""Websocket consumer for one canvas: `/ws/flows/{canvas_id}/` (SPEC section 9)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host
from rest_framework.authtoken.models import Token

from entities import realtime
from entities.models import Entity
from entities.payloads import entity_data
from flows.models import Flow

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class CanvasConsumer(AsyncJsonWebsocketConsumer):
    """Snapshot on connect, then the canvas group's messages in commit order per entity."""

    group: str | None = None
    canvas_id: uuid.UUID
    # entity id -> sequence number of the last message delivered to this socket
    seen: dict[str, Any]

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
        # Join before reading the snapshot so no move falls between the two; the
        # sequence numbers then drop anything the snapshot already shows.
        await self.channel_layer.group_add(self.group, self.channel_name)
        entities, self.seen = await self._snapshot()
        await self.send_json({"type": "snapshot", "entities": entities})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """The socket is server-to-client only; client frames (even non-JSON) are ignored."""

    async def dispatch(self, message: dict[str, Any]) -> None:
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
        await self.send(text_data=message["text"])

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
        """`?token=` (an API token) wins over the session cookie; None if neither."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            token = Token.objects.select_related("user").filter(key=query["token"][-1]).first()
            return token.user if token and token.user.is_active else None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not self._same_site():
            return None
        return user

    def _same_site(self) -> bool:
        """Browsers send the session cookie with a websocket opened by any site, so a
        cookie-authenticated socket must come from one of our own pages (Origin)."""
        headers = dict(self.scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin:
            return True  # not a browser: no ambient cookie to abuse
        host = headers.get(b"host", b"").decode("latin-1")
        parsed = urlparse(origin)
        return (
            parsed.netloc == host
            or origin in settings.CSRF_TRUSTED_ORIGINS
            or validate_host(parsed.hostname or "", settings.ALLOWED_HOSTS)
        )

    @database_sync_to_async
    def _snapshot(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        entities = list(Entity.objects.filter(canvas_id=self.canvas_id))
        seen = {str(entity.pk): entity.sequence for entity in entities}
        return [entity_data(entity) for entity in entities], seen
