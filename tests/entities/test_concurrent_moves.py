"""Moves of one entity racing from many threads serialise on the entity row lock."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from entities import services
from entities.models import Entity, JourneyEvent
from tests.factories import EntityFactory

MOVES = 50
# Two moves per thread: 25 connections racing, half of PostgreSQL's default 100, which
# the machine's other test runs share.
THREADS = 25


def _moves(first: int, entity_id: object, barrier: threading.Barrier, errors: list) -> None:
    try:
        barrier.wait(timeout=10)
        for index in range(first, MOVES, THREADS):
            _one_move(index, entity_id)
    except Exception as exc:  # pragma: no cover - reported by the assertion below
        errors.append(exc)
    finally:
        connection.close()


def _one_move(index: int, entity_id: object) -> None:
    if index % 3 == 0:
        services.entity_journey_start(entity_id=entity_id, edge_id="e-customers-churned")
    elif index % 3 == 1:
        services.entity_manual_move(entity_id=entity_id, node_id=["leads", "churned"][index % 2])
    else:
        try:
            services.entity_progress(entity_id=entity_id, progress=Decimal(index) / 100)
        except services.MovementError:
            # Not on an edge at that instant: refused, so move to a node instead.
            services.entity_manual_move(entity_id=entity_id, node_id="customers")


@pytest.mark.django_db(transaction=True)
def test_fifty_racing_moves_leave_the_last_committed_position() -> None:
    entity = EntityFactory.create()
    barrier = threading.Barrier(THREADS)
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_moves, args=(i, entity.pk, barrier, errors))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []

    events = list(JourneyEvent.objects.filter(entity=entity).order_by("timestamp"))
    assert len(events) == MOVES
    entity.refresh_from_db()
    last = events[-1]
    assert entity.sequence == MOVES
    if last.event_type == "edge_start" or last.event_type == "edge_progress":
        assert (entity.current_node_id, entity.current_edge_id) == (None, last.edge_id)
        assert entity.edge_progress == last.progress
    else:
        assert (entity.current_node_id, entity.current_edge_id) == (last.node_id, None)
        assert entity.edge_progress is None
    # The journey tail is the newest events, in commit order.
    assert [item["id"] for item in entity.journey] == [
        str(e.id) for e in events[-services.JOURNEY_TAIL :]
    ]
    # The seed's CHECKs hold for the stored row.
    assert (
        Entity.objects.filter(pk=entity.pk, current_node_id__isnull=False)
        .exclude(current_edge_id=None)
        .count()
        == 0
    )
