"""GET /api/flows/{id}/analytics/ on a small hand-made history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from entities import services
from entities.models import Entity, JourneyEvent
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db


def stay_for(entity: Entity, seconds: int) -> None:
    """Pretend the entity arrived at its node `seconds` ago."""
    Entity.objects.filter(pk=entity.pk).update(
        node_entered_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.fixture
def history(owner):
    canvas = CanvasFactory.create(owner=owner)
    first, second, third = (EntityFactory.create(canvas=canvas) for _ in range(3))
    for entity in (first, second, third):
        services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    stay_for(first, 60)
    services.entity_journey_start(entity_id=first.pk, edge_id="e-leads-customers")
    services.entity_progress(entity_id=first.pk, progress=0.5)
    services.entity_arrive(entity_id=first.pk)
    services.entity_complete(entity_id=first.pk)
    stay_for(second, 120)
    services.entity_journey_start(entity_id=second.pk, edge_id="e-leads-customers")
    return canvas


def by_id(rows):
    return {row["id"]: row for row in rows}


def test_it_counts_positions_arrivals_completions_and_conversion(owner_client, history) -> None:
    response = owner_client.get(f"/api/flows/{history.pk}/analytics/")
    assert response.status_code == 200
    nodes, edges = by_id(response.json()["nodes"]), by_id(response.json()["edges"])
    assert nodes["leads"] == {
        "id": "leads",
        "current": 1,
        "arrivals": 3,
        "completions": 0,
        "median_seconds": pytest.approx(90, abs=1),
        "p90_seconds": pytest.approx(114, abs=1),
    }
    assert nodes["customers"] == {
        "id": "customers",
        "current": 1,
        "arrivals": 1,
        "completions": 1,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert nodes["churned"]["current"] == nodes["churned"]["arrivals"] == 0
    assert edges["e-leads-customers"] == {
        "id": "e-leads-customers",
        "travelling": 1,
        "starts": 2,
        "arrivals": 1,
        "conversion": 0.5,
    }
    assert edges["e-customers-churned"] == {
        "id": "e-customers-churned",
        "travelling": 0,
        "starts": 0,
        "arrivals": 0,
        "conversion": None,
    }
    assert [n["id"] for n in response.json()["nodes"]] == ["leads", "customers", "churned"]


def test_since_and_until_limit_the_events_counted(owner_client, history) -> None:
    long_ago = timezone.now() - timedelta(days=30)
    JourneyEvent.objects.filter(canvas=history, event_type="manual_move").update(timestamp=long_ago)
    url = f"/api/flows/{history.pk}/analytics/"
    recent = owner_client.get(url, {"since": (long_ago + timedelta(days=1)).isoformat()})
    assert by_id(recent.json()["nodes"])["leads"]["arrivals"] == 0
    assert by_id(recent.json()["edges"])["e-leads-customers"]["starts"] == 2
    old = owner_client.get(url, {"until": (long_ago + timedelta(days=1)).isoformat()})
    assert by_id(old.json()["nodes"])["leads"]["arrivals"] == 3
    assert by_id(old.json()["edges"])["e-leads-customers"]["starts"] == 0
    # "Now here" does not depend on the window.
    assert by_id(old.json()["nodes"])["leads"]["current"] == 1


@pytest.mark.parametrize("param", ["since", "until"])
def test_an_unparseable_datetime_is_400_naming_the_parameter(owner_client, history, param):
    response = owner_client.get(f"/api/flows/{history.pk}/analytics/", {param: "yesterday"})
    assert response.status_code == 400
    assert param in response.json()


def test_a_date_or_an_unencoded_offset_is_understood(owner_client, history) -> None:
    url = f"/api/flows/{history.pk}/analytics/"
    assert owner_client.get(url, {"since": "2020-01-01"}).status_code == 200
    assert owner_client.get(url + "?since=2020-01-01T00:00:00+00:00").status_code == 200


def test_until_before_since_is_refused(owner_client, history) -> None:
    response = owner_client.get(
        f"/api/flows/{history.pk}/analytics/", {"since": "2024-02-01", "until": "2024-01-01"}
    )
    assert response.status_code == 400
    assert "until" in response.json()


def test_another_users_canvas_is_404(other_client, history) -> None:
    assert other_client.get(f"/api/flows/{history.pk}/analytics/").status_code == 404


def test_anonymous_callers_are_refused(anon_client, history) -> None:
    assert anon_client.get(f"/api/flows/{history.pk}/analytics/").status_code in (401, 403)
