"""`POST /api/webhook-events/{id}/replay/` (SPEC 7.6): the owner reprocesses a stored event."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from entities.models import Entity, JourneyEvent
from flows.models import Run
from tests.webhooks.conftest import body_of, post, sample_payload, signed_post
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]


def processed_event(config: WebhookConfig, payload: dict) -> WebhookEvent:
    event_id = signed_post(Client(), config, payload).json()["event_id"]
    webhook_event_process(event_id=event_id)
    return WebhookEvent.objects.get(pk=event_id)


def test_replaying_a_failed_event_processes_it_again(
    make_config: MakeConfig, owner_client: APIClient
) -> None:
    config = make_config("stripe", entity_mapping={"name": "$.customer.name"})
    event = processed_event(config, sample_payload("stripe"))
    assert event.status == "failed"
    config.entity_mapping = {"name": "$.customer.name", "entity_type": "lead"}
    config.save()

    response = owner_client.post(f"/api/webhook-events/{event.id}/replay/")

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["error"] is None
    webhook_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == "completed", event.error
    assert Entity.objects.get().entity_type == "lead"


def test_replaying_a_completed_event_starts_a_new_run_for_the_same_entity(
    make_config: MakeConfig, owner_client: APIClient
) -> None:
    config = make_config("stripe", entity_mapping={"name": "$.customer.name", "entity_type": "x"})
    event = processed_event(config, sample_payload("stripe"))  # no email in the mapping
    first_run = event.workflow_run_id

    assert owner_client.post(f"/api/webhook-events/{event.id}/replay/").status_code == 202
    webhook_event_process(event_id=event.id)

    event.refresh_from_db()
    assert event.status == "completed"
    assert Entity.objects.count() == 1  # the entity the event made before, not a new one
    assert Run.objects.count() == 2 and event.workflow_run_id != first_run
    assert JourneyEvent.objects.filter(event_type="edge_start").count() == 2


def test_a_refused_delivery_cannot_be_replayed(
    make_config: MakeConfig, owner_client: APIClient
) -> None:
    config = make_config("stripe")
    post(Client(), config, body_of(sample_payload("stripe")), {"Stripe-Signature": "t=1,v1=0"})
    refused = WebhookEvent.objects.get()

    response = owner_client.post(f"/api/webhook-events/{refused.id}/replay/")

    assert response.status_code == 400
    assert "refused" in response.json()["event"][0]
    refused.refresh_from_db()
    assert refused.status == "failed"
    assert webhook_event_process(event_id=refused.id) is None


def test_only_the_owner_can_replay(
    make_config: MakeConfig, other_client: APIClient, anon_client: APIClient
) -> None:
    event = processed_event(make_config("stripe"), sample_payload("stripe"))
    assert other_client.post(f"/api/webhook-events/{event.id}/replay/").status_code == 404
    assert anon_client.post(f"/api/webhook-events/{event.id}/replay/").status_code == 401
    event.refresh_from_db()
    assert event.status == "completed"


def test_replaying_an_unknown_event_is_404(owner_client: APIClient) -> None:
    url = "/api/webhook-events/00000000-0000-0000-0000-000000000000/replay/"
    assert owner_client.post(url).status_code == 404
