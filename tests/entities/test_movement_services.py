"""The five movement services: position after, the one journey event, and refusals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from entities import services
from entities.models import Entity, JourneyEvent
from entities.services import MovementError
from tests.factories import EntityFactory

pytestmark = pytest.mark.django_db


def test_starting_a_journey_puts_the_entity_on_the_edge_at_zero() -> None:
    entity = EntityFactory.create()
    moved = services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    entity.refresh_from_db()
    assert (entity.current_node_id, entity.current_edge_id) == (None, "e-leads-customers")
    assert entity.edge_progress == Decimal("0.00")
    assert moved.event.event_type == "edge_start"
    assert moved.event.edge_id == "e-leads-customers"
    assert moved.event.canvas_id == entity.canvas_id
    assert JourneyEvent.objects.filter(entity=entity).count() == 1


def test_progress_moves_along_the_current_edge_rounded_to_two_decimals() -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    moved = services.entity_progress(entity_id=entity.pk, progress=0.456)
    entity.refresh_from_db()
    assert entity.edge_progress == Decimal("0.46")
    assert moved.event.event_type == "edge_progress"
    assert moved.event.progress == Decimal("0.46")


def test_arriving_lands_on_the_edge_target_and_remembers_the_edge() -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    moved = services.entity_arrive(entity_id=entity.pk)
    entity.refresh_from_db()
    assert (entity.current_node_id, entity.current_edge_id, entity.edge_progress) == (
        "customers",
        None,
        None,
    )
    assert moved.event.event_type == "node_arrival"
    assert (moved.event.node_id, moved.event.edge_id) == ("customers", "e-leads-customers")


def test_completing_keeps_the_entity_on_its_node() -> None:
    entity = EntityFactory.create(current_node_id="customers")
    moved = services.entity_complete(entity_id=entity.pk)
    entity.refresh_from_db()
    assert entity.current_node_id == "customers"
    assert moved.event.event_type == "node_complete"
    assert moved.event.node_id == "customers"


def test_a_manual_move_puts_the_entity_on_any_node_and_can_retype_it() -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    moved = services.entity_manual_move(entity_id=entity.pk, node_id="churned", entity_type="ex")
    entity.refresh_from_db()
    assert (entity.current_node_id, entity.current_edge_id, entity.edge_progress) == (
        "churned",
        None,
        None,
    )
    assert entity.entity_type == "ex"
    assert moved.event.event_type == "manual_move"


def test_the_journey_keeps_a_compact_tail_of_recent_events() -> None:
    entity = EntityFactory.create()
    for _ in range(services.JOURNEY_TAIL + 5):
        services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    entity.refresh_from_db()
    assert len(entity.journey) == services.JOURNEY_TAIL
    last = JourneyEvent.objects.filter(entity=entity).order_by("-timestamp").first()
    assert last is not None
    assert entity.journey[-1]["id"] == str(last.id)
    assert JourneyEvent.objects.filter(entity=entity).count() == services.JOURNEY_TAIL + 5


def test_leaving_a_node_records_the_time_spent_there() -> None:
    entity = EntityFactory.create()
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    services.entity_complete(entity_id=entity.pk)  # still at leads
    entered = Entity.objects.get(pk=entity.pk).node_entered_at
    assert entered is not None
    Entity.objects.filter(pk=entity.pk).update(node_entered_at=entered - timedelta(seconds=90))
    moved = services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    assert moved.event.previous_node_id == "leads"
    assert moved.event.seconds_in_previous_node == pytest.approx(90, abs=1)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda pk: services.entity_journey_start(entity_id=pk, edge_id="nope"), "edge_id"),
        (lambda pk: services.entity_manual_move(entity_id=pk, node_id="nope"), "node_id"),
        (lambda pk: services.entity_arrive(entity_id=pk), "arrive"),
        (lambda pk: services.entity_complete(entity_id=pk), "complete"),
        (lambda pk: services.entity_progress(entity_id=pk, progress=0.5), "edge_id"),
    ],
)
def test_refused_moves_name_the_field_and_write_nothing(call, field) -> None:
    entity = EntityFactory.create()
    with pytest.raises(MovementError) as refused:
        call(entity.pk)
    assert refused.value.field == field
    assert not JourneyEvent.objects.exists()
    entity.refresh_from_db()
    assert (entity.current_node_id, entity.current_edge_id, entity.sequence) == (None, None, 0)


@pytest.mark.parametrize("progress", [-0.01, 1.01, "abc", None, True, float("nan")])
def test_progress_outside_zero_to_one_is_refused(progress) -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    with pytest.raises(MovementError) as refused:
        services.entity_progress(entity_id=entity.pk, progress=progress)
    assert refused.value.field == "progress"


def test_progress_on_another_edge_than_the_current_one_is_refused() -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    with pytest.raises(MovementError, match="travels on"):
        services.entity_progress(entity_id=entity.pk, edge_id="e-customers-churned", progress=1)


def test_the_database_refuses_a_half_on_node_half_on_edge_position() -> None:
    entity = EntityFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Entity.objects.filter(pk=entity.pk).update(current_node_id="leads", current_edge_id="x")


def test_deleting_an_entity_removes_its_history() -> None:
    entity = EntityFactory.create()
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    services.entity_delete(entity_id=entity.pk)
    assert not Entity.objects.filter(pk=entity.pk).exists()
    assert not JourneyEvent.objects.exists()


def _drop_from_canvas(entity: Entity, *, node: str | None = None, edge: str | None = None) -> None:
    """Edit the canvas after the entity set off: remove a node or an edge."""
    graph = entity.canvas.graph
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != node]
    graph["edges"] = [e for e in graph["edges"] if e["id"] != edge]
    type(entity.canvas).objects.filter(pk=entity.canvas_id).update(graph=graph)


def test_progress_on_an_edge_removed_from_the_canvas_is_refused() -> None:
    entity = EntityFactory.create()
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    _drop_from_canvas(entity, edge="e-leads-customers")
    with pytest.raises(MovementError, match="no longer on the entity's canvas") as refused:
        services.entity_progress(entity_id=entity.pk, progress=0.5)
    assert refused.value.field == "edge_id"
    assert JourneyEvent.objects.filter(entity=entity).count() == 1


def test_completing_at_a_node_removed_from_the_canvas_is_refused() -> None:
    entity = EntityFactory.create()
    services.entity_manual_move(entity_id=entity.pk, node_id="churned")
    _drop_from_canvas(entity, node="churned", edge="e-customers-churned")
    with pytest.raises(MovementError, match="no longer on the entity's canvas") as refused:
        services.entity_complete(entity_id=entity.pk)
    assert refused.value.field == "complete"
    assert JourneyEvent.objects.filter(entity=entity).count() == 1
