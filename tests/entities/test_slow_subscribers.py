"""A subscriber that cannot keep up is closed with 4408 (SPEC 9), without slowing the
others; the layers' buffers are bounded and never unsubscribe a live socket silently."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.sync.client import connect
from websockets.uri import parse_uri

from entities import realtime, services
from entities.layers import (
    OVERFLOW_TYPE,
    BoundedInMemoryChannelLayer,
    BoundedRedisPubSubChannelLayer,
)
from tests.entities.live_servers import LAYERS, layer_server, receive, redis_url
from tests.factories import CanvasFactory, EntityFactory

MOVES = 300
# Each frame carries the entity, metadata included: ~20 KB, so 300 moves are ~6 MB,
# far more than the buffer below plus what the kernel holds for a socket nobody reads.
PADDING = "x" * 20_000
BUFFER = 256 * 1024


@pytest.fixture(params=LAYERS)
def small_buffer_server(request, settings, django_db_setup, tmp_path) -> Iterator[str]:
    """A server whose sockets may hold BUFFER bytes, on either channel layer."""
    overrides = {"REALTIME_SOCKET_BUFFER_BYTES": BUFFER}
    with layer_server(request.param, settings, tmp_path / "logs", **overrides) as hostport:
        yield hostport


class StalledClient:
    """A websocket client on a plain socket that reads nothing until told to: a tiny
    receive buffer, so the server's writes back up as soon as the window is full.
    (websockets' own clients keep reading into memory behind the application's back.)"""

    def __init__(self, server: str, path: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        host, port = server.split(":")
        self.sock.connect((host, int(port)))
        self.sock.settimeout(30)
        self.protocol = ClientProtocol(parse_uri(f"ws://{server}{path}"))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.handshake_exc is None and not self.protocol.events_received():
            self.protocol.receive_data(self.sock.recv(4096))
        assert self.protocol.handshake_exc is None

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.sock.sendall(data)

    def read_until_closed(self) -> tuple[int, int | None]:
        """Read everything the server sends; (data frames, close code)."""
        frames = 0
        while True:
            data = self.sock.recv(65536)
            if not data:
                self.protocol.receive_eof()
            else:
                self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                assert isinstance(event, Frame)
                if event.opcode == Opcode.CLOSE:
                    return frames, Close.parse(event.data).code
                if event.opcode == Opcode.TEXT:
                    frames += 1
            self._flush()  # pongs
            if not data:
                return frames, None

    def close(self) -> None:
        self.sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_that_stops_reading_is_closed_with_4408_and_others_get_everything(
    small_buffer_server, owner
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas, metadata={"padding": PADDING})
    path = f"/ws/flows/{canvas.pk}/?token={owner.auth_token.key}"
    received: list[dict] = []

    with connect(f"ws://{small_buffer_server}{path}", open_timeout=10) as fast:
        assert receive(fast, timeout=10)["type"] == "snapshot"

        def read_all() -> None:
            while len(received) < MOVES:
                received.append(receive(fast, timeout=30))

        reader = threading.Thread(target=read_all)
        reader.start()
        slow = StalledClient(small_buffer_server, path)
        try:
            started = time.monotonic()
            nodes = ["leads", "customers", "churned"]
            for index in range(MOVES):
                services.entity_manual_move(entity_id=entity.pk, node_id=nodes[index % 3])
            moving_took = time.monotonic() - started
            reader.join(timeout=60)

            # The one that kept reading got every move, in order.
            assert [m["seq"] for m in received] == list(range(1, MOVES + 1))
            # The one that did not is told to start again once it reads.
            frames, code = slow.read_until_closed()
            assert code == 4408, (frames, code)
            assert frames < MOVES  # it was cut off, not served in full
        finally:
            slow.close()
    # Nobody waited for the stalled socket (each move is a few ms).
    assert moving_took < MOVES * 0.2


def run(coroutine):
    return asyncio.run(coroutine)


async def drain(layer: Any, channel: str) -> list[dict]:
    """What the channel holds, until half a second passes without a message."""
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), 0.5))
        except TimeoutError:
            return received


def test_the_in_memory_layer_reports_an_overflow_past_capacity() -> None:
    async def scenario() -> list[dict]:
        layer = BoundedInMemoryChannelLayer(capacity=3)
        channel = await layer.new_channel()
        await layer.group_add("canvas.x", channel)
        for index in range(10):
            await layer.group_send("canvas.x", {"type": "m", "i": index})
        return [await asyncio.wait_for(layer.receive(channel), 1)]

    assert run(scenario()) == [{"type": OVERFLOW_TYPE}]


def test_an_old_message_does_not_unsubscribe_a_socket_silently() -> None:
    async def scenario() -> list[dict]:
        layer = BoundedInMemoryChannelLayer(expiry=0.05)
        channel = await layer.new_channel()
        await layer.group_add("canvas.x", channel)
        await layer.group_send("canvas.x", {"type": "m", "i": 1})
        await asyncio.sleep(0.1)  # nobody read it in time
        await layer.group_send("canvas.x", {"type": "m", "i": 2})
        first = await asyncio.wait_for(layer.receive(channel), 1)
        second = await asyncio.wait_for(layer.receive(channel), 1)
        return [first, second]

    # Still subscribed (message 2 arrives), and told that it fell behind.
    assert run(scenario()) == [{"type": OVERFLOW_TYPE}, {"type": "m", "i": 2}]


def test_a_group_membership_does_not_expire_while_the_socket_lives() -> None:
    async def scenario() -> dict:
        layer = BoundedInMemoryChannelLayer(group_expiry=1)
        channel = await layer.new_channel()
        await layer.group_add("canvas.x", channel)
        layer.groups["canvas.x"][channel] -= 3600  # joined an hour ago
        await layer.group_send("canvas.x", {"type": "m"})
        return await asyncio.wait_for(layer.receive(channel), 1)

    assert run(scenario()) == {"type": "m"}


def test_the_redis_layer_bounds_each_channel_and_reports_the_overflow() -> None:
    async def scenario() -> list[dict]:
        prefix = f"test-{uuid.uuid4().hex}"  # channel names never met by other runs
        layer = BoundedRedisPubSubChannelLayer(hosts=[redis_url()], prefix=prefix, capacity=3)
        try:
            channel = await layer.new_channel()
            await layer.group_add("canvas.x", channel)
            for index in range(10):
                await layer.group_send("canvas.x", {"type": "m", "i": index})
            await layer.group_send("canvas.x", {"type": "last"})
            await asyncio.sleep(0.5)  # the subscriber task files what Redis delivers
            return await drain(layer, channel)
        finally:
            await layer.flush()

    seen = run(scenario())
    assert seen[0] == {"type": OVERFLOW_TYPE}
    assert len(seen) <= 3


def test_messages_waiting_for_a_stalled_loop_are_bounded_and_the_canvas_told_to_resync(
    monkeypatch,
) -> None:
    monkeypatch.setattr(realtime, "HANDOFF_CAPACITY", 5)

    async def scenario() -> list[dict]:
        layer = BoundedInMemoryChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add("canvas.x", channel)
        handoff = realtime.Handoff(asyncio.get_running_loop(), layer)
        # Pushed while the loop is busy running this coroutine: nothing is sent yet.
        for index in range(12):
            handoff.push(("canvas.x",), {"type": realtime.MESSAGE_TYPE, "i": index})
        return await drain(layer, channel)

    overflow, rest = run(scenario())
    # The dropped ones are reported (the canvas's sockets resync with 4408) ...
    assert overflow == {"type": OVERFLOW_TYPE}
    # ... and what came after them is still sent, in order, in one layer message.
    assert rest["type"] == realtime.BATCH_TYPE
    assert [m["i"] for m in rest["messages"]] == [10, 11]
