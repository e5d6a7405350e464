"""E-mail addresses are matched without regard to case everywhere (SPEC 6)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from entities.models import Entity
from tests.factories import CanvasFactory, EntityFactory, WebhookConfigFactory
from tests.webhooks.conftest import MAPPING, SECRETS, sample_payload, signed_post
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


def create(client, canvas, email: str):
    body = {"canvas_id": str(canvas.pk), "name": "Ann", "entity_type": "lead", "email": email}
    return client.post("/api/entities/", body, format="json")


@pytest.mark.django_db
def test_an_address_is_stored_in_lower_case(owner_client, canvas) -> None:
    response = create(owner_client, canvas, "Ann@X.com")
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "ann@x.com"
    assert Entity.objects.get().email == "ann@x.com"


@pytest.mark.django_db
def test_the_email_filter_ignores_case(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas, email="Ann@X.com")
    response = owner_client.get("/api/entities/?email=ANN@x.COM")
    assert [e["id"] for e in response.json()["results"]] == [str(entity.pk)]


@pytest.mark.django_db
def test_a_second_entity_with_the_same_address_in_another_case_is_400(
    owner_client, owner, canvas
) -> None:
    assert create(owner_client, canvas, "Ann@X.com").status_code == 201
    response = create(owner_client, canvas, "ANN@x.com")
    assert response.status_code == 400
    assert "email" in response.json()
    assert Entity.objects.count() == 1
    # Another canvas is another list of people.
    assert create(owner_client, CanvasFactory.create(owner=owner), "ann@x.com").status_code == 201


@pytest.mark.django_db
def test_an_edit_to_an_address_taken_in_another_case_is_400(owner_client, canvas) -> None:
    EntityFactory.create(canvas=canvas, email="ann@x.com")
    bob = EntityFactory.create(canvas=canvas, email="bob@x.com")
    response = owner_client.patch(f"/api/entities/{bob.pk}/", {"email": "Ann@X.COM"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()
    bob.refresh_from_db()
    assert bob.email == "bob@x.com"


@pytest.mark.django_db
def test_a_webhook_finds_an_entity_created_through_the_api_in_another_case(
    owner_client, canvas
) -> None:
    config = WebhookConfigFactory.create(
        canvas=canvas, source="stripe", secret=SECRETS["stripe"], entity_mapping=MAPPING
    )
    response = create(owner_client, canvas, "Ann@X.com")
    assert response.status_code == 201, response.content
    delivery = signed_post(Client(), config, sample_payload("stripe", email="ANN@x.Com"))
    event_id = delivery.json()["event_id"]
    webhook_event_process(event_id=event_id)
    event = WebhookEvent.objects.get(pk=event_id)
    assert event.status == "completed", event.error
    assert str(event.entity_id) == response.json()["id"]
    assert Entity.objects.count() == 1


BEFORE = [("entities", "0004_journey_arrivals_index")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_normalises_addresses_and_keeps_every_duplicate() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    try:
        user = old.get_model("stitch", "User").objects.create(username="m")
        canvas = old.get_model("flows", "Flow").objects.create(
            owner=user, name="c", canvas_type="bmc", graph={"nodes": [], "edges": []}
        )
        OldEntity = old.get_model("entities", "Entity")
        first = OldEntity.objects.create(
            canvas=canvas, name="first", email="Ann@X.com", entity_type="lead"
        )
        second = OldEntity.objects.create(
            canvas=canvas, name="second", email=" ann@x.COM", entity_type="lead", metadata={"a": 1}
        )
        other = OldEntity.objects.create(
            canvas=canvas, name="other", email="Bob@Y.com", entity_type="lead"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    rows = {e.pk: e for e in Entity.objects.all()}
    assert rows[first.pk].email == "ann@x.com"
    assert rows[other.pk].email == "bob@y.com"
    assert rows[second.pk].email is None
    assert rows[second.pk].metadata == {
        "a": 1,
        "duplicate_email": " ann@x.COM",
        "duplicate_of": str(first.pk),
    }
