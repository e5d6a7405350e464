"""The bounded send buffer of one websocket (SPEC 9: a slow subscriber never slows the
others or grows the server's memory without bound), and where its frames are coalesced.

What waits here is either a *frame* (sent as it is: the snapshot, the task inbox's
messages) or a *chunk*: one or more SPEC 9 messages, already JSON, joined by commas.
One writer task sends, in order; whenever it is free it takes everything waiting and
sends it as one frame: a lone message as itself, several as

    {"type": "batch", "messages": [<message>, <message>, ...]}

(at most `FRAME_CHARS` per batch frame, unless one message alone is larger). So a
socket that keeps up gets one frame per hub flush (entities.hub), and one that falls a
little behind catches up in fewer, larger frames instead of queueing one per message.

A client that reads slower than its canvas changes lets frames pile up here; past
`limit` bytes `put`/`add` refuse, and the consumer closes the socket with 4408 so the
page reconnects to a fresh snapshot. Sizes count what waits and what is being sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

# A batch frame stops growing past this many characters: clients bound the frames they
# accept (Python's websockets: 1 MiB by default), and a huge frame delays the next one.
FRAME_CHARS = 256 * 1024
BATCH_OPEN = '{"type":"batch","messages":['
BATCH_CLOSE = "]}"

logger = logging.getLogger(__name__)


class SocketOutbox:
    def __init__(self, send: Callable[[str], Awaitable[None]], *, limit: int):
        self._send = send
        self._limit = limit
        # (text, messages): messages is 0 for a frame sent as it is, else the number of
        # messages in the chunk `text`.
        self._waiting: deque[tuple[str, int]] = deque()
        self._size = 0  # characters waiting or being sent; JSON is ASCII, so bytes too
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._broken = False  # the connection failed under a send: nothing more goes out

    @property
    def size(self) -> int:
        return self._size

    def put(self, text: str) -> bool:
        """Queue a frame sent on its own; False (nothing queued) past the limit."""
        return self._queue([(text, 0)])

    def add(self, chunks: list[tuple[str, int]]) -> bool:
        """Queue one flush: chunks of (SPEC 9 messages joined by commas, how many), to
        be sent with whatever else waits; False (nothing queued) when they would pass
        the limit. A flush always fits an empty outbox: a socket that has caught up
        takes a burst whole (its strings are shared with the other sockets), and one
        that is still behind on earlier frames when the next flush comes is too slow."""
        return self._queue(chunks)

    def _queue(self, entries: list[tuple[str, int]]) -> bool:
        if self._broken:
            return True  # the server is ending this socket; its disconnect follows
        chars = sum(len(text) for text, _ in entries)
        if self._size and self._size + chars > self._limit:
            return False
        self._waiting.extend(entries)
        self._size += chars
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())
        else:
            self._ready.set()
        return True

    def _take(self) -> tuple[str, int]:
        """The next frame and the characters it takes off the outbox: a lone frame, or
        every chunk waiting (up to FRAME_CHARS) as one message or one batch."""
        text, messages = self._waiting.popleft()
        if messages == 0:
            return text, len(text)
        parts, count, chars = [text], messages, len(text)
        while self._waiting:
            following, more = self._waiting[0]
            if more == 0 or chars + len(following) > FRAME_CHARS:
                break
            self._waiting.popleft()
            parts.append(following)
            count += more
            chars += len(following)
        if count == 1:
            return text, chars
        return BATCH_OPEN + ",".join(parts) + BATCH_CLOSE, chars

    async def _write(self) -> None:
        try:
            while True:
                if not self._waiting:
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                frame, chars = self._take()
                await self._send(frame)
                self._size -= chars
        except Exception:  # the client went away mid-send (uvicorn: ClientDisconnected)
            logger.debug("websocket send failed", exc_info=True)
            self._broken = True
            self._waiting.clear()
            self._size = 0

    async def close(self) -> None:
        """Stop writing and drop what is still queued."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None
        self._waiting.clear()
        self._size = 0
