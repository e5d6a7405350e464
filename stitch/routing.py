"""Websocket routes (the realtime consumer is added by the entities issue)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
