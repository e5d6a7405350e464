"""Live messages show an entity and its journey event exactly as the REST API does."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rest_framework.utils.encoders import JSONEncoder

from entities import services
from entities.payloads import entity_data, event_data
from entities.serializers import EntitySerializer, JourneyEventSerializer
from tests.factories import EntityFactory

pytestmark = pytest.mark.django_db


def as_sent(data: object) -> object:
    """What a websocket client receives (messages are encoded with DRF's encoder)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def test_an_entity_on_an_edge_reads_the_same_live_and_over_rest() -> None:
    entity = EntityFactory.create(metadata={"plan": "pro", "seats": 3}, avatar_url="a.png")
    moved = services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    services.entity_progress(entity_id=entity.pk, progress=Decimal("0.5"))
    moved = services.entity_progress(entity_id=entity.pk, progress=0.75)
    assert as_sent(entity_data(moved.entity)) == as_sent(EntitySerializer(moved.entity).data)
    assert as_sent(event_data(moved.event)) == as_sent(JourneyEventSerializer(moved.event).data)
    assert as_sent(entity_data(moved.entity))["edge_progress"] == "0.75"  # type: ignore[index]


def test_an_entity_on_a_node_without_email_reads_the_same_live_and_over_rest() -> None:
    entity = EntityFactory.create(email=None)
    moved = services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    entity.refresh_from_db()
    assert as_sent(entity_data(entity)) == as_sent(EntitySerializer(entity).data)
    assert as_sent(event_data(moved.event)) == as_sent(JourneyEventSerializer(moved.event).data)
    assert as_sent(event_data(moved.event))["progress"] is None  # type: ignore[index]
