"""Websocket routes."""

from __future__ import annotations

from typing import Any

from django.urls import re_path

from entities.consumers import CanvasConsumer
from flows.task_consumers import TaskInboxConsumer

websocket_urlpatterns: list[Any] = [
    # Any id segment reaches the consumer, so a malformed id closes with 4404
    # instead of failing the handshake.
    re_path(r"^ws/flows/(?P<canvas_id>[^/]+)/?$", CanvasConsumer.as_asgi()),
    re_path(r"^ws/tasks/?$", TaskInboxConsumer.as_asgi()),
]
