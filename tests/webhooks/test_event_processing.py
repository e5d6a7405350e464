"""The processing job (SPEC 7.5): a stored event becomes an entity on the entry edge and a
run of the workflow, or a failed event with a readable error and its payload kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from entities.models import Entity, JourneyEvent
from flows import services as flow_services
from flows.models import Run
from tests.factories import EntityFactory, bmc_graph
from tests.webhooks.conftest import sample_payload, signed_post
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]


def deliver(config: WebhookConfig, payload: dict) -> WebhookEvent:
    response = signed_post(Client(), config, payload)
    assert response.status_code == 202, response.content
    event_id = response.json()["event_id"]
    webhook_event_process(event_id=event_id)
    return WebhookEvent.objects.get(pk=event_id)


def test_an_event_puts_a_new_entity_on_the_entry_edge_and_starts_a_run(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe", email="Ada@Example.com")
    event = deliver(config, payload)

    assert event.status == "completed", event.error
    assert event.error is None and event.processed_at is not None
    entity = Entity.objects.get()
    assert (entity.name, entity.email, entity.entity_type) == (
        "Ada Lovelace",
        "ada@example.com",
        "customer",
    )
    assert entity.canvas_id == config.canvas_id
    assert entity.metadata == {"plan": "pro", "source": "webhook"}
    assert entity.current_edge_id == "e-leads-customers"
    assert JourneyEvent.objects.filter(entity=entity, event_type="edge_start").count() == 1
    run = Run.objects.get()
    assert (event.entity_id, event.workflow_run_id) == (entity.id, run.id)
    assert run.flow_id == config.workflow_id and run.entity_id == entity.id
    assert run.input == payload
    assert run.trigger["type"] == "webhook"
    assert run.trigger["source"] == "stripe"
    assert run.trigger["event_id"] == str(event.id)
    assert run.trigger["timestamp"] == event.received_at.isoformat()


def test_an_existing_entity_with_that_email_is_reused_with_metadata_merged(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    existing = EntityFactory.create(
        canvas=config.canvas,
        name="Ada L.",
        email="ada@example.com",
        entity_type="lead",
        metadata={"plan": "free", "score": 7},
    )
    event = deliver(config, sample_payload("stripe", email="ADA@example.com"))

    assert event.status == "completed", event.error
    assert Entity.objects.count() == 1
    existing.refresh_from_db()
    assert event.entity_id == existing.id
    assert existing.metadata == {"plan": "pro", "score": 7, "source": "webhook"}
    assert existing.name == "Ada L."  # only metadata is merged
    assert existing.current_edge_id == "e-leads-customers"


def test_an_entity_on_another_canvas_is_not_reused(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    EntityFactory.create(email="ada@example.com")
    event = deliver(config, sample_payload("stripe"))
    assert event.status == "completed"
    assert Entity.objects.filter(canvas=config.canvas).count() == 1
    assert Entity.objects.count() == 2


def test_events_without_email_each_create_an_entity(make_config: MakeConfig) -> None:
    config = make_config("stripe", entity_mapping={"name": "$.who", "entity_type": "lead"})
    first = deliver(config, {"id": "evt_a", "who": "A"})
    second = deliver(config, {"id": "evt_b", "who": "B"})
    assert first.entity_id != second.entity_id
    assert sorted(Entity.objects.values_list("name", flat=True)) == ["A", "B"]


def test_paths_index_arrays_literals_stay_literal_and_metadata_nests(
    make_config: MakeConfig,
) -> None:
    mapping = {
        "name": "$.data.object.customer_details.name",
        "email": "$.data.object.customer_details.email",
        "entity_type": "buyer",
        "metadata": {
            "first_item": "$.items[0].sku",
            "address": {"city": "$.data.object.customer_details.address.city"},
            "channel": "stripe checkout",
            "missing": "$.nothing.here",
        },
    }
    config = make_config("stripe", entity_mapping=mapping)
    payload = {
        "id": "evt_nested",
        "data": {
            "object": {
                "customer_details": {
                    "name": "Grace",
                    "email": "grace@example.com",
                    "address": {"city": "Arlington"},
                }
            }
        },
        "items": [{"sku": "A-1"}, {"sku": "B-2"}],
    }
    event = deliver(config, payload)
    assert event.status == "completed", event.error
    entity = Entity.objects.get()
    assert entity.entity_type == "buyer"
    assert entity.metadata == {
        "first_item": "A-1",
        "address": {"city": "Arlington"},
        "channel": "stripe checkout",
    }  # "missing" matched nothing, so it adds nothing


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"id": "evt_x", "customer": {"email": "a@example.com"}}, "$.customer.name"),
        ({"id": "evt_y", "customer": {"name": "  ", "email": "a@example.com"}}, "$.customer.name"),
    ],
)
def test_a_missing_name_fails_the_event_naming_the_path(
    make_config: MakeConfig, payload: dict, named: str
) -> None:
    config = make_config("stripe")
    event = deliver(config, payload)
    assert event.status == "failed"
    assert event.error and named in event.error and "name" in event.error
    assert event.payload == payload
    assert event.processed_at is not None
    assert not Entity.objects.exists() and not Run.objects.exists()


def test_a_mapping_without_entity_type_fails_the_event(make_config: MakeConfig) -> None:
    config = make_config("stripe", entity_mapping={"name": "$.customer.name"})
    event = deliver(config, sample_payload("stripe"))
    assert event.status == "failed"
    assert event.error and "entity_type" in event.error


def test_a_failure_after_the_entity_was_written_leaves_no_trace_of_it(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    graph = bmc_graph()
    graph["edges"] = [e for e in graph["edges"] if e["id"] != "e-leads-customers"]
    flow_services.flow_update(flow=config.canvas, graph=graph)

    event = deliver(config, sample_payload("stripe"))

    assert event.status == "failed"
    assert event.error and "e-leads-customers" in event.error
    assert not Entity.objects.exists()  # created, then rolled back with the failure
    assert not Run.objects.exists()


def test_processing_an_event_twice_changes_nothing_the_second_time(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    event = deliver(config, sample_payload("stripe"))
    assert webhook_event_process(event_id=event.id) is None
    assert (Entity.objects.count(), Run.objects.count(), JourneyEvent.objects.count()) == (1, 1, 1)


def test_the_event_api_shows_the_outcome(make_config: MakeConfig, owner_client: Client) -> None:
    config = make_config("stripe")
    event = deliver(config, sample_payload("stripe"))
    body = owner_client.get(f"/api/webhook-events/{event.id}/").json()
    assert body["status"] == "completed"
    assert body["entity_id"] == str(event.entity_id)
    assert body["workflow_run_id"] == str(event.workflow_run_id)
    assert body["processed_at"] is not None
    listed = owner_client.get(
        "/api/webhook-events/", {"status": "completed", "webhook_config_id": str(config.id)}
    ).json()
    assert [e["id"] for e in listed["results"]] == [str(event.id)]


def test_the_event_list_refuses_a_malformed_filter(owner_client: Client) -> None:
    response = owner_client.get("/api/webhook-events/", {"webhook_config_id": "not-a-uuid"})
    assert response.status_code == 400
    assert "webhook_config_id" in response.json()
