"""The bounded send buffer of one websocket (SPEC 9: a slow subscriber never slows the
others or grows the server's memory without bound).

The consumer hands every frame to its outbox and returns at once, so it keeps draining
its channel-layer buffer whatever the client does; one writer task sends the frames in
order. A client that reads slower than its canvas changes lets frames pile up here;
past `limit` bytes `put` refuses, and the consumer closes the socket with 4408 so the
page reconnects to a fresh snapshot. This is the one place frames wait for a socket:
anything that reshapes the stream per subscriber (coalescing, batching) belongs here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable


class SocketOutbox:
    def __init__(self, send: Callable[[str], Awaitable[None]], *, limit: int):
        self._send = send
        self._limit = limit
        self._frames: deque[str] = deque()
        self._size = 0  # characters held; frames are ASCII JSON, so bytes as well
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    @property
    def size(self) -> int:
        return self._size

    def put(self, text: str) -> bool:
        """Queue a frame; False (nothing queued) when it would pass the limit. A frame
        always fits an empty outbox, so one large message is never refused forever."""
        if self._frames and self._size + len(text) > self._limit:
            return False
        self._frames.append(text)
        self._size += len(text)
        self._ready.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return True

    async def _write(self) -> None:
        while True:
            if not self._frames:
                self._ready.clear()
                await self._ready.wait()
                continue
            text = self._frames[0]
            await self._send(text)
            self._frames.popleft()
            self._size -= len(text)

    async def close(self) -> None:
        """Stop writing and drop what is still queued."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None
        self._frames.clear()
        self._size = 0
