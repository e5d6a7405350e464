"""The seed's CHECK constraints hold in the database itself: writes that skip every
Python check (queryset.update, raw SQL) are still refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from entities.models import Entity
from tests.factories import EntityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entity() -> Entity:
    return EntityFactory.create()


def refused(entity: Entity, **values: object) -> bool:
    try:
        with transaction.atomic():
            Entity.objects.filter(pk=entity.pk).update(**values)
    except IntegrityError:
        return True
    return False


def test_a_node_and_an_edge_at_once_is_refused(entity: Entity) -> None:
    assert refused(entity, current_node_id="leads", current_edge_id="e1", edge_progress=0)


def test_an_edge_without_progress_is_refused(entity: Entity) -> None:
    assert refused(entity, current_edge_id="e1", edge_progress=None)


def test_progress_without_an_edge_is_refused(entity: Entity) -> None:
    assert refused(entity, current_node_id="leads", edge_progress=Decimal("0.5"))
    assert refused(entity, edge_progress=Decimal("0.5"))


@pytest.mark.parametrize("progress", ["-0.01", "1.01", "9.99"])
def test_progress_outside_zero_to_one_is_refused(entity: Entity, progress: str) -> None:
    assert refused(entity, current_edge_id="e1", edge_progress=Decimal(progress))


def test_valid_positions_are_accepted(entity: Entity) -> None:
    assert not refused(entity, current_node_id="leads")
    assert not refused(entity, current_node_id=None, current_edge_id="e1", edge_progress=1)
    assert not refused(entity, current_edge_id=None, edge_progress=None)


def test_raw_sql_cannot_store_an_invalid_position_either(entity: Entity) -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE stitch_entities SET current_node_id = 'a', current_edge_id = 'b', "
            "edge_progress = 0.5 WHERE id = %s",
            [entity.pk],
        )
    entity.refresh_from_db()
    assert entity.current_node_id is None


def test_a_flow_version_number_is_unique_per_flow(owner) -> None:
    from flows.models import FlowVersion
    from tests.factories import FlowFactory

    flow = FlowFactory.create(owner=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlowVersion.objects.create(flow=flow, number=1, graph={}, plan={})
