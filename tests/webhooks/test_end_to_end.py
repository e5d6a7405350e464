"""End to end: a Stripe-signed `checkout.session.completed` delivery becomes an entity on
the entry edge and a run whose entry node is dispatched to a real HTTP worker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from entities.models import Entity, JourneyEvent
from flows.models import Run
from tests.webhooks.conftest import WorkerServer, signed_post
from webhooks.models import WebhookConfig, WebhookEvent

# Shape of Stripe's documented event (trimmed to the fields a mapping would read).
CHECKOUT_SESSION_COMPLETED = {
    "id": "evt_1PqGxq2eZvKYlo2C0s8d5gVh",
    "object": "event",
    "api_version": "2024-06-20",
    "created": 1724402346,
    "type": "checkout.session.completed",
    "livemode": False,
    "data": {
        "object": {
            "id": "cs_test_a1b2c3",
            "object": "checkout.session",
            "amount_total": 4900,
            "currency": "usd",
            "customer": "cus_QhgR8WnCyD0Xkz",
            "customer_details": {
                "email": "Jenny.Rosen@example.com",
                "name": "Jenny Rosen",
                "address": {"country": "US"},
            },
            "mode": "subscription",
            "payment_status": "paid",
            "status": "complete",
        }
    },
}

MAPPING = {
    "name": "$.data.object.customer_details.name",
    "email": "$.data.object.customer_details.email",
    "entity_type": "customer",
    "metadata": {
        "stripe_customer": "$.data.object.customer",
        "amount": "$.data.object.amount_total",
        "plan": "$.data.object.mode",
    },
}


@pytest.mark.django_db(transaction=True)
def test_a_stripe_checkout_sets_an_entity_travelling_and_dispatches_the_workflow(
    make_config: Callable[..., WebhookConfig],
    run_jobs: Callable[..., None],
    worker: WorkerServer,
) -> None:
    config = make_config("stripe", entity_mapping=MAPPING)

    response = signed_post(Client(), config, CHECKOUT_SESSION_COMPLETED)
    assert response.status_code == 202
    assert not Entity.objects.exists()  # nothing but the event is written in the request

    run_jobs()

    event = WebhookEvent.objects.get(pk=response.json()["event_id"])
    assert event.status == "completed", event.error
    entity = Entity.objects.get()
    assert (entity.name, entity.email) == ("Jenny Rosen", "jenny.rosen@example.com")
    assert entity.metadata == {
        "stripe_customer": "cus_QhgR8WnCyD0Xkz",
        "amount": 4900,
        "plan": "subscription",
    }
    first_move = JourneyEvent.objects.filter(entity=entity).order_by("timestamp").first()
    assert first_move is not None
    assert (first_move.event_type, first_move.edge_id) == ("edge_start", "e-leads-customers")

    run = Run.objects.get()
    assert event.workflow_run_id == run.id and run.entity_id == entity.id
    entry_dispatch = next(d for d in worker.dispatches if d["node_id"] == "a")
    assert entry_dispatch["run_id"] == str(run.id)
    assert entry_dispatch["input"]["type"] == "checkout.session.completed"
    assert entry_dispatch["callback_url"]
