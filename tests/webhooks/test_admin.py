"""Operators' admin: send a signed test event, replay events, configs validated on save."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from tests.factories import CanvasFactory, FlowFactory, UserFactory
from tests.webhooks.conftest import MAPPING, sample_payload, signed_post
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def messages_of(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("source", ["stripe", "standard", "typeform", "calendly", "generic"])
def test_send_test_event_delivers_a_correctly_signed_sample(
    source: str, make_config: MakeConfig, operator: Client
) -> None:
    config = make_config(source)
    response = operator.post(
        "/admin/webhooks/webhookconfig/",
        {"action": "send_test_event", "_selected_action": [str(config.id)]},
        follow=True,
    )
    event = WebhookEvent.objects.get()
    assert event.accepted and event.status == "pending"
    assert any("HTTP 202" in m and str(event.id) in m for m in messages_of(response))
    # The sample fills in every path of the mapping, so processing succeeds.
    processed = webhook_event_process(event_id=event.id)
    assert processed is not None
    assert processed.status == "completed", processed.error


def test_send_test_event_reports_a_refusal(make_config: MakeConfig, operator: Client) -> None:
    config = make_config("generic", secret=None, require_signature=True)
    response = operator.post(
        "/admin/webhooks/webhookconfig/",
        {"action": "send_test_event", "_selected_action": [str(config.id)]},
        follow=True,
    )
    assert any("HTTP 401" in m for m in messages_of(response))


def test_replay_action_requeues_events(make_config: MakeConfig, operator: Client) -> None:
    config = make_config("stripe", entity_mapping={"name": "$.customer.name"})
    event_id = signed_post(Client(), config, sample_payload("stripe")).json()["event_id"]
    webhook_event_process(event_id=event_id)
    assert WebhookEvent.objects.get().status == "failed"

    action = {"action": "replay", "_selected_action": [event_id]}
    asked = operator.post("/admin/webhooks/webhookevent/", action)
    assert "Replay 1 webhook event(s)?" in asked.content.decode()  # asks first
    assert WebhookEvent.objects.get().status == "failed"
    response = operator.post("/admin/webhooks/webhookevent/", action | {"post": "yes"}, follow=True)

    assert WebhookEvent.objects.get().status == "pending"
    assert any("1 event(s) queued" in m for m in messages_of(response))


def test_the_admin_form_refuses_an_edge_that_is_not_on_the_canvas(
    operator: Client,
) -> None:
    owner = UserFactory.create()
    canvas, workflow = CanvasFactory.create(owner=owner), FlowFactory.create(owner=owner)
    form = {
        "name": "Hook",
        "canvas": str(canvas.id),
        "workflow": str(workflow.id),
        "source": "stripe",
        "endpoint_slug": "admin-hook",
        "secret": "whsec_x",
        "require_signature": "on",
        "entry_edge_id": "nowhere",
        "entity_mapping": '{"name": "$.a[", "entity_type": "lead"}',
        "is_active": "on",
    }
    response = operator.post("/admin/webhooks/webhookconfig/add/", form)
    assert response.status_code == 200  # the form again, with errors
    page = response.content.decode()
    assert "nowhere" in page and "cannot parse" in page
    assert not WebhookConfig.objects.exists()

    form["entry_edge_id"] = "e-leads-customers"
    form["entity_mapping"] = '{"name": "$.a", "entity_type": "lead"}'
    response = operator.post("/admin/webhooks/webhookconfig/add/", form)
    assert response.status_code == 302
    assert WebhookConfig.objects.get().secret == "whsec_x"


def test_the_admin_pages_render(make_config: MakeConfig, operator: Client) -> None:
    config = make_config("stripe", entity_mapping=MAPPING)
    signed_post(Client(), config, sample_payload("stripe"))
    event = WebhookEvent.objects.get()
    for url in (
        "/admin/webhooks/webhookconfig/",
        f"/admin/webhooks/webhookconfig/{config.id}/change/",
        "/admin/webhooks/webhookevent/",
        f"/admin/webhooks/webhookevent/{event.id}/change/",
    ):
        response = operator.get(url)
        assert response.status_code == 200, url
    page = operator.get(f"/admin/webhooks/webhookconfig/{config.id}/change/").content.decode()
    assert f"/api/webhooks/{config.endpoint_slug}/" in page
    assert config.secret and config.secret not in page  # write-only here too
