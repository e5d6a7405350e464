"""`/api/webhook-events/`: lists stay light (no payloads inline), the detail view carries
the payload, and `?fields=` picks the fields a client wants."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import CanvasFactory, FlowFactory, WebhookConfigFactory, WebhookEventFactory
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

BIG = {"id": "evt_big", "blob": "x" * 500_000}


@pytest.fixture
def event(owner: User) -> WebhookEvent:
    canvas = CanvasFactory.create(owner=owner)
    config = WebhookConfigFactory.create(canvas=canvas, workflow=FlowFactory.create(owner=owner))
    return WebhookEventFactory.create(webhook_config=config, payload=BIG)


def test_the_list_does_not_inline_payloads(event: WebhookEvent, owner_client: APIClient) -> None:
    response = owner_client.get("/api/webhook-events/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == str(event.id)
    assert "payload" not in row
    assert {"status", "error", "provider_event_id", "received_at", "accepted"} <= row.keys()
    assert len(response.content) < 2000


def test_the_detail_view_carries_the_payload(event: WebhookEvent, owner_client: APIClient) -> None:
    response = owner_client.get(f"/api/webhook-events/{event.id}/")
    assert response.status_code == 200
    assert response.json()["payload"] == BIG


def test_fields_picks_what_the_list_returns(event: WebhookEvent, owner_client: APIClient) -> None:
    response = owner_client.get("/api/webhook-events/?fields=id,status")
    assert response.json()["results"] == [{"id": str(event.id), "status": "pending"}]


def test_fields_on_the_detail_view_can_name_the_payload(
    event: WebhookEvent, owner_client: APIClient
) -> None:
    response = owner_client.get(f"/api/webhook-events/{event.id}/?fields=payload")
    assert response.json() == {"payload": BIG}


@pytest.mark.parametrize("fields", ["payload", "id,nope", ""])
def test_fields_the_list_cannot_return_are_400_naming_the_parameter(
    event: WebhookEvent, owner_client: APIClient, fields: str
) -> None:
    response = owner_client.get(f"/api/webhook-events/?fields={fields}")
    assert response.status_code == 400
    assert "fields" in response.json()
