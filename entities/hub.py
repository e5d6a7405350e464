"""The receiving side of live updates (SPEC 9): one hub per process and canvas group.

A hub holds one channel of the Channels layer in the canvas group, whatever the number
of sockets this process serves on the canvas: each broadcast is received (with Redis:
msgpack-decoded) once per process, and fanned out to the local sockets as a list
append. It collects what arrives and flushes it to every subscriber at most once per
`REALTIME_COALESCE_MS`: the first message after a quiet spell goes out at once (on the
next turn of the loop, with whatever arrived in the same turn), later ones wait for the
next flush. So under load a socket gets one frame per flush carrying every change since
the last one, and the frame rate is bounded by sockets / interval, not moves x sockets.

A flush hands each subscriber the messages as comma-joined chunks built once for all
(entities.outbox turns them into frames; the strings are shared, not copied per socket);
a subscriber whose sequence filter drops some of them builds its own. A hub whose layer
channel overflowed has lost messages: every subscriber is told (`overflowed`: the
consumer closes with 4408 and the page resyncs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from entities.layers import OVERFLOW_TYPE
from entities.outbox import FRAME_CHARS
from entities.realtime import BATCH_TYPE, MESSAGE_TYPE

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Item:
    """One SPEC 9 message as broadcast: its JSON `text` and what the filter reads."""

    kind: str
    entity_id: str | None
    seq: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """Messages of one flush, and their texts joined by commas (a batch's inside)."""

    items: list[Item]
    text: str


class Subscriber(Protocol):
    def deliver(self, chunks: list[Chunk]) -> None: ...

    def overflowed(self) -> None: ...


def _item(message: dict[str, Any]) -> Item:
    return Item(message["kind"], message.get("entity_id"), message.get("seq"), message["text"])


def chunks(items: list[Item]) -> list[Chunk]:
    """`items` in order, cut so that no chunk passes FRAME_CHARS (unless one item does)."""
    out: list[Chunk] = []
    start, chars = 0, 0
    for index, item in enumerate(items):
        if index > start and chars + len(item.text) > FRAME_CHARS:
            out.append(_chunk(items[start:index]))
            start, chars = index, 0
        chars += len(item.text) + 1
    if start < len(items):
        out.append(_chunk(items[start:]))
    return out


def _chunk(items: list[Item]) -> Chunk:
    return Chunk(items, ",".join(item.text for item in items))


class GroupHub:
    def __init__(self, group: str, layer: BaseChannelLayer, loop: asyncio.AbstractEventLoop):
        self.group = group
        self.layer = layer
        self.loop = loop
        self.subscribers: set[Subscriber] = set()
        self._lock = asyncio.Lock()  # start and stop one at a time
        self._channel: str | None = None
        self._pump: asyncio.Task[None] | None = None
        self._pending: list[Item] = []
        self._flush_at: asyncio.Handle | None = None
        self._last_flush = float("-inf")

    async def join(self, subscriber: Subscriber) -> None:
        """Subscribe; on return every message broadcast from now on reaches it."""
        self.subscribers.add(subscriber)
        async with self._lock:
            if self._pump is None:
                await self._start()

    async def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if self.subscribers:
            return
        async with self._lock:
            if not self.subscribers and self._pump is not None:
                await self._stop()
                if _hubs.get(self.group) is self:
                    del _hubs[self.group]

    async def _start(self) -> None:
        # A join that waited while this hub stopped restarts it: be the one found again.
        _hubs.setdefault(self.group, self)
        self._channel = await self.layer.new_channel(prefix="hub.")
        await self.layer.group_add(self.group, self._channel)
        self._pump = self.loop.create_task(self._receive(self._channel))

    async def _stop(self) -> None:
        assert self._pump is not None and self._channel is not None
        channel, self._channel = self._channel, None
        pump, self._pump = self._pump, None
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await self.layer.group_discard(self.group, channel)
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        self._pending = []

    async def _receive(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
                self._file(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken message, a lost Redis connection: keep serving
                logger.exception("realtime hub %s: receiving failed", self.group)
                await asyncio.sleep(0.5)

    def _file(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == MESSAGE_TYPE:
            self._pending.append(_item(message))
        elif kind == BATCH_TYPE:
            self._pending.extend(_item(each) for each in message["messages"])
        elif kind == OVERFLOW_TYPE:
            self._overflowed()
            return
        else:
            return
        if self._flush_at is None:
            interval = settings.REALTIME_COALESCE_MS / 1000
            due = self._last_flush + interval
            if due <= self.loop.time():
                self._flush_at = self.loop.call_soon(self._flush)
            else:
                self._flush_at = self.loop.call_at(due, self._flush)

    def _flush(self) -> None:
        self._flush_at = None
        self._last_flush = self.loop.time()
        pending, self._pending = self._pending, []
        flush = chunks(pending)
        for subscriber in list(self.subscribers):
            try:
                subscriber.deliver(flush)
            except Exception:  # one socket's failure must not starve the others
                logger.exception("realtime hub %s: delivering failed", self.group)

    def _overflowed(self) -> None:
        logger.warning("realtime hub %s: the layer dropped messages; resyncing", self.group)
        self._pending = []
        for subscriber in list(self.subscribers):
            subscriber.overflowed()


_hubs: dict[str, GroupHub] = {}


def hub_for(group: str) -> GroupHub:
    """This process's hub for `group` (call from the server's event loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(group)
    if hub is None or hub.loop is not loop:  # a server restarted in this process (tests)
        layer = get_channel_layer()
        assert layer is not None, "a channel layer is configured in settings"
        hub = _hubs[group] = GroupHub(group, layer, loop)
    return hub
