"""Channel layers whose per-channel buffers are bounded and never drop silently (SPEC 9).

Channels' layers buffer messages per channel (one channel per websocket consumer):
- the in-memory layer bounds a channel at `capacity`, then drops without a word; a message
  older than `expiry` (60 s) removes the channel from *every* group, and a membership
  older than `group_expiry` (24 h) ends: either way the socket stays open and silently
  receives nothing more;
- channels-redis' pub/sub layer ignores `capacity`: each channel's asyncio.Queue grows
  without limit while its consumer does not read.

Here a channel that fills past `capacity` (or, in memory, holds a message past `expiry`)
is emptied and handed one OVERFLOW message instead: its consumer (entities.consumers)
closes the socket with 4408 and the page reconnects to a fresh snapshot. Memberships
end only when the consumer leaves (it always does on disconnect). The consumer drains
its channel into its own bounded outbox at once (entities.outbox), so in normal running
these buffers stay near empty; this is the backstop when a server loop falls behind.
"""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, _wrap_close

OVERFLOW_TYPE = "stitch.overflow"


class OverflowQueue(asyncio.Queue):
    """A bounded queue whose `put_nowait` never raises: past `maxsize` it drops what it
    holds and keeps only `overflow`, which tells the reader it lost messages."""

    def __init__(self, maxsize: int, *, overflow: Any):
        super().__init__(maxsize=maxsize)
        self.overflow = overflow

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self.drop_for_overflow()
            return
        super().put_nowait(item)

    def drop_for_overflow(self) -> None:
        self._queue.clear()  # type: ignore[attr-defined]
        super().put_nowait(self.overflow)


class BoundedInMemoryChannelLayer(InMemoryChannelLayer):
    """In-process layer: bounded per channel, overflow reported, memberships kept."""

    def _queue(self, channel: str) -> OverflowQueue:
        queue = self.channels.get(channel)
        if queue is None:
            overflow = (float("inf"), {"type": OVERFLOW_TYPE})
            queue = OverflowQueue(self.get_capacity(channel), overflow=overflow)
            self.channels[channel] = queue
        return queue

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull as exc:  # pragma: no cover - OverflowQueue never raises
            raise ChannelFull(channel) from exc

    async def receive(self, channel: str) -> dict[str, Any]:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    def _clean_expired(self) -> None:
        """A channel whose oldest message is past `expiry` is not being read fast enough:
        report an overflow to it instead of unsubscribing it behind its back. Group
        memberships never expire by age here."""
        now = time.time()
        for queue in list(self.channels.values()):
            if not queue.empty() and queue._queue[0][0] < now:
                queue.drop_for_overflow()


class _BoundedRedisLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, capacity: int = 100, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.capacity = capacity

    async def _subscribe_to_channel(self, channel: str) -> None:
        overflow = self.channel_layer.serialize({"type": OVERFLOW_TYPE})
        self.channels[channel] = OverflowQueue(self.capacity, overflow=overflow)
        await self._get_shard(channel).subscribe(channel)


class BoundedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """Redis pub/sub layer whose per-channel queues hold at most `capacity` messages."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        # As the parent's, building the bounded per-loop layer instead.
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _BoundedRedisLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
