"""`/ws/tasks/`: live updates for the signed-in user's task inbox.

Decision: a user channel in its own consumer rather than one canvas socket per
workflow in the page. On connect it joins the canvas groups of every workflow the
user owns (where the engine already broadcasts `run.updated`, see entities.realtime),
so the engine needs no extra broadcast; it forwards only what can change the inbox: a
node now `waiting_for_user` (a new task), a node leaving a wait (`completed`,
`skipped`, `failed`) and a run's own status (`node_id` null). The page then fetches
its list again. Workflows created after the socket opened are joined when the client
reconnects; the page reconnects every few minutes for that reason.

Authentication and backpressure are the canvas socket's (session cookie from a page of
this site, or `?token=`; no user: close 4403; a subscriber past its buffer: 4408).
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from entities import realtime
from entities.consumers import CLOSE_FORBIDDEN, CanvasConsumer
from entities.outbox import SocketOutbox
from flows.models import CanvasType, Flow
from stitch import observe

FORWARDED = {"waiting_for_user", "completed", "skipped", "failed"}
# Joining more groups than this on one socket would make connecting slow; an owner of
# more workflows gets the newest ones live and the rest on the page's periodic refresh.
MAX_WORKFLOWS = 500


class TaskInboxConsumer(CanvasConsumer):
    """The canvas consumer's authentication and bounded outbox (a subscriber that
    cannot keep up is closed with 4408), over the groups of all the user's workflows."""

    groups_joined: list[str]

    async def connect(self) -> None:
        realtime.bind_loop()
        await self.accept()
        self.groups_joined = []
        user = await database_sync_to_async(self._user)()
        if user is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for flow_id in await self._workflow_ids(user):
            group = realtime.canvas_group(flow_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        self.outbox = SocketOutbox(self._send_text, limit=settings.REALTIME_SOCKET_BUFFER_BYTES)
        self.outbox.put(json.dumps({"type": "subscribed", "workflows": len(self.groups_joined)}))
        observe.websocket_opened(self)  # and closed by CanvasConsumer.disconnect()

    async def _leave(self) -> None:
        groups, self.groups_joined = self.groups_joined, []
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.outbox is not None:
            await self.outbox.close()

    async def stitch_message(self, message: dict[str, Any]) -> None:
        if message.get("kind") != "run.updated":
            return
        payload = json.loads(message["text"])  # a few small keys
        if payload.get("node_id") is not None and payload.get("status") not in FORWARDED:
            return
        if self.outbox is not None and not self.outbox.put(message["text"]):
            await self._too_slow()

    @database_sync_to_async
    def _workflow_ids(self, user: Any) -> list[Any]:
        workflows = Flow.objects.filter(owner=user, canvas_type=CanvasType.WORKFLOW)
        return list(workflows.order_by("-created_at").values_list("pk", flat=True)[:MAX_WORKFLOWS])
