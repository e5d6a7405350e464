"""Websocket connections open now (a gauge summed over live processes) and accepted in
total, on a real uvicorn server in this process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from entities import realtime, services
from entities.layers import OVERFLOW_TYPE
from tests.entities.live_servers import threaded_server
from tests.entities.test_slow_subscribers import BUFFER, MOVES, PADDING, StalledClient
from tests.factories import CanvasFactory, EntityFactory, FlowFactory
from tests.ops.conftest import Samples

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server() -> Iterator[str]:
    with threaded_server() as hostport:
        yield hostport


def eventually(scrape: Callable[[], Samples], name: str, expected: float) -> None:
    deadline = time.monotonic() + 10
    while (value := scrape().value(name)) != expected:
        assert time.monotonic() < deadline, f"{name} is {value}, not {expected}"
        time.sleep(0.05)


def test_open_sockets_are_counted_and_uncounted_when_they_close(
    server: str, owner: Any, scrape: Callable[[], Samples]
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    url = f"ws://{server}/ws/flows/{canvas.pk}/?token={owner.auth_token.key}"
    before = scrape()
    open_now = before.value("stitch_websocket_connections")

    with connect(url, open_timeout=10) as first, connect(url, open_timeout=10) as second:
        for ws in (first, second):
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        eventually(scrape, "stitch_websocket_connections", open_now + 2)
        # No credentials: closed with 4403, never counted as open.
        anonymous = f"ws://{server}/ws/flows/{canvas.pk}/"
        with connect(anonymous, open_timeout=10) as refused, pytest.raises(ConnectionClosed):
            refused.recv(timeout=10)
        opened = scrape().value("stitch_websocket_connections_opened_total")
        assert opened - before.value("stitch_websocket_connections_opened_total") == 2

    eventually(scrape, "stitch_websocket_connections", open_now)


def test_task_inbox_sockets_are_counted_too(
    server: str, owner: Any, scrape: Callable[[], Samples]
) -> None:
    open_now = scrape().value("stitch_websocket_connections")
    with connect(f"ws://{server}/ws/tasks/?token={owner.auth_token.key}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        eventually(scrape, "stitch_websocket_connections", open_now + 1)
    eventually(scrape, "stitch_websocket_connections", open_now)


def test_a_slow_subscriber_closed_is_counted_and_told(
    settings: Any, owner: Any, scrape: Callable[[], Samples], ops_lines: Any
) -> None:
    settings.REALTIME_SOCKET_BUFFER_BYTES = BUFFER
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas, metadata={"padding": PADDING})
    before = scrape().value("stitch_websocket_slow_subscribers_closed_total")
    with threaded_server() as server:
        slow = StalledClient(server, f"/ws/flows/{canvas.pk}/?token={owner.auth_token.key}")
        try:
            for index in range(MOVES):
                node = ("leads", "customers")[index % 2]
                services.entity_manual_move(entity_id=entity.pk, node_id=node)
            assert slow.read_until_closed()[1] == 4408
        finally:
            slow.close()

    after = scrape().value("stitch_websocket_slow_subscribers_closed_total")
    assert after - before == 1
    [line] = [line for line in ops_lines() if line["message"] == "slow websocket subscriber closed"]
    assert line["canvas_id"] == str(canvas.pk)


def test_an_inbox_socket_closed_for_falling_behind_is_counted_and_told(
    server: str, owner: Any, scrape: Callable[[], Samples], ops_lines: Any
) -> None:
    workflow = FlowFactory.create(owner=owner)
    before = scrape().value("stitch_websocket_slow_subscribers_closed_total")
    with connect(f"ws://{server}/ws/tasks/?token={owner.auth_token.key}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        # What a bounded channel layer delivers when this socket's channel overflows.
        overflow = {"type": OVERFLOW_TYPE}
        realtime._deliver(get_channel_layer(), [realtime.canvas_group(workflow.pk)], overflow)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    after = scrape().value("stitch_websocket_slow_subscribers_closed_total")
    assert after - before == 1
    [line] = [line for line in ops_lines() if line["message"] == "slow websocket subscriber closed"]
    assert line["path"] == "/ws/tasks/" and "canvas_id" not in line
