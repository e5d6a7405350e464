"""Coalesced frames (README, Realtime): under load one frame carries every message of a
flush as `{"type": "batch", "messages": [...]}`, and per-entity order holds across
frames. Real websocket clients against a real uvicorn, on both channel layers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from websockets.sync.client import ClientConnection, connect

from entities import realtime, services
from entities.models import Entity
from tests.entities.live_servers import (
    LAYERS,
    batches_read,
    frames_read,
    layer_server,
    receive,
)
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db(transaction=True)

NODES = ["leads", "customers", "churned"]
THREADS = 3
OWN_ENTITIES = 2  # per thread
MOVES_PER_THREAD = 60
CLIENTS = 4


@contextmanager
def open_sockets(server: str, canvas: Any, owner: Any, count: int) -> Iterator[list[Any]]:
    """`count` sockets on the canvas, snapshots read."""
    path = f"/ws/flows/{canvas.pk}/?token={owner.auth_token.key}"
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(connect(f"ws://{server}{path}", open_timeout=10))
            for _ in range(count)
        ]
        for ws in sockets:
            assert receive(ws, timeout=10)["type"] == "snapshot"
        yield sockets


@pytest.fixture(params=LAYERS)
def server(request, settings, django_db_setup, tmp_path) -> Iterator[str]:
    # A flush at most every 200 ms: moves from three threads cannot all fall into
    # separate flushes, so batch frames are certain (and seen below).
    overrides = {"REALTIME_COALESCE_MS": 200}
    with layer_server(request.param, settings, tmp_path / "logs", **overrides) as hostport:
        yield hostport


def move_concurrently(own: list[list[Entity]], shared: Entity) -> None:
    """Each thread moves its own entities and, every third move, the shared one."""
    failures: list[BaseException] = []

    def mover(mine: list[Entity]) -> None:
        try:
            for index in range(MOVES_PER_THREAD):
                entity = shared if index % 3 == 2 else mine[index % len(mine)]
                services.entity_manual_move(entity_id=entity.pk, node_id=NODES[index % 3])
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=mover, args=(mine,)) for mine in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures


def read_until_final(ws: ClientConnection, final: dict[str, int]) -> dict[str, list[int]]:
    """Sequence numbers per entity as this client received them, until each entity's
    last committed sequence arrived."""
    seen: dict[str, list[int]] = {entity_id: [] for entity_id in final}
    while any(not seqs or seqs[-1] != final[eid] for eid, seqs in seen.items()):
        message = receive(ws, timeout=30)
        assert message["type"] == "entity.updated", message
        seen[message["entity"]["id"]].append(message["seq"])
    return seen


def test_every_client_sees_every_move_of_an_entity_in_sequence_order_across_batch_frames(
    server, owner
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    own = [[EntityFactory.create(canvas=canvas) for _ in range(OWN_ENTITIES)] for _ in "abc"]
    shared = EntityFactory.create(canvas=canvas)
    with open_sockets(server, canvas, owner, CLIENTS) as sockets:
        move_concurrently(own, shared)
        final = {str(e.pk): e.sequence for e in Entity.objects.filter(canvas=canvas)}
        for ws in sockets:
            seen = read_until_final(ws, final)
            # An entity moved by one thread: every move, in commit order.
            for entity in (e for mine in own for e in mine):
                assert seen[str(entity.pk)] == list(range(1, final[str(entity.pk)] + 1))
            # The shared one's racing after-commit sends may drop an older move, but
            # never deliver one out of order, and its last position always arrives.
            shared_seqs = seen[str(shared.pk)]
            assert shared_seqs == sorted(set(shared_seqs)), shared_seqs
            assert shared_seqs[-1] == final[str(shared.pk)] == MOVES_PER_THREAD
            messages = sum(len(seqs) for seqs in seen.values())
            assert batches_read.get(ws, 0) >= 1
            assert frames_read[ws] - 1 < messages  # the snapshot was one frame


@pytest.mark.parametrize("layer", LAYERS)
def test_a_burst_reaches_a_socket_as_at_most_two_frames_in_order(
    layer, settings, django_db_setup, tmp_path, owner
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    # Longer than publishing the burst takes: the first message goes out at once,
    # everything after it waits for the next flush.
    overrides = {"REALTIME_COALESCE_MS": 3000}
    with (
        layer_server(layer, settings, tmp_path / "logs", **overrides) as hostport,
        open_sockets(hostport, canvas, owner, 1) as (ws,),
    ):
        # 40 moves in one transaction: 40 messages sent right after its commit.
        with transaction.atomic():
            for index in range(40):
                services.entity_manual_move(entity_id=entity.pk, node_id=NODES[index % 3])
        received = [receive(ws, timeout=20) for _ in range(40)]
        assert [m["seq"] for m in received] == list(range(1, 41))
        nodes = [m["entity"]["current_node_id"] for m in received]
        assert nodes == [NODES[index % 3] for index in range(40)]
        assert frames_read[ws] - 1 <= 2


def test_a_lone_move_is_sent_as_its_own_message_not_as_a_batch(
    settings, django_db_setup, tmp_path, owner
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    with (
        layer_server("memory", settings, tmp_path / "logs") as hostport,
        open_sockets(hostport, canvas, owner, 1) as (ws,),
    ):
        services.entity_manual_move(entity_id=entity.pk, node_id="leads")
        message = receive(ws, timeout=10)
        assert (message["type"], message["seq"]) == ("entity.updated", 1)
        assert batches_read.get(ws, 0) == 0


def test_a_move_does_not_wait_for_a_busy_server_loop(settings, django_db_setup, tmp_path, owner):
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    with (
        layer_server("memory", settings, tmp_path / "logs") as hostport,
        open_sockets(hostport, canvas, owner, 1) as (ws,),
    ):
        loop = realtime._server_loop
        assert loop is not None and loop.is_running()
        busy = threading.Event()

        def stall() -> None:  # the loop stuck for 5 s (a long callback, a stalled host)
            busy.set()
            time.sleep(5)

        loop.call_soon_threadsafe(stall)
        assert busy.wait(timeout=10)
        started = time.monotonic()
        services.entity_manual_move(entity_id=entity.pk, node_id="leads")
        took = time.monotonic() - started
        assert receive(ws, timeout=20)["seq"] == 1  # sent once the loop is free again
        assert took < 2.5, took
