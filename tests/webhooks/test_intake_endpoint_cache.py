"""The intake's per-process endpoint cache (issue 11): one statement stores a delivery
with a warm cache, and a config changed since it was cached is never acted on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from procrastinate.contrib.django.models import ProcrastinateJob

from tests.webhooks.conftest import SECRETS, body_of, post, sample_payload, signed_post
from webhooks import endpoints
from webhooks.models import WebhookConfig, WebhookEvent

MakeConfig = Callable[..., WebhookConfig]


@pytest.fixture(autouse=True)
def cold_cache() -> None:
    endpoints.clear()


@pytest.mark.django_db
def test_a_delivery_to_a_cached_endpoint_is_one_statement(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert signed_post(Client(), config, sample_payload("stripe", marker="warm")).status_code == 202

    with CaptureQueriesContext(connection) as queries:
        answer = signed_post(Client(), config, sample_payload("stripe", marker="one"))

    assert answer.status_code == 202
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    event = WebhookEvent.objects.get(pk=answer.json()["event_id"])
    assert (event.status, event.provider_event_id) == ("pending", "evt_one")
    job = ProcrastinateJob.objects.get(args__event_id=str(event.pk))
    assert (job.task_name, job.queue_name, job.status) == (
        "webhooks.process_event",
        "webhooks",
        "todo",
    )


@pytest.mark.django_db
def test_a_rotated_secret_is_used_at_once(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert signed_post(Client(), config, sample_payload("stripe", marker="a")).status_code == 202
    WebhookConfig.objects.filter(pk=config.pk).update(secret="whsec_rotated")

    old = signed_post(Client(), config, sample_payload("stripe", marker="b"))
    config.secret = "whsec_rotated"
    new = signed_post(Client(), config, sample_payload("stripe", marker="c"))

    assert old.status_code == 401
    assert new.status_code == 202
    refused = WebhookEvent.objects.get(accepted=False)
    assert refused.provider_event_id is None
    assert (refused.error or "").startswith("signature:")


@pytest.mark.django_db
def test_a_secret_set_after_caching_is_required(make_config: MakeConfig) -> None:
    config = make_config("generic", secret=None, require_signature=False)
    payload = sample_payload("generic", marker="open")
    assert post(Client(), config, body_of(payload)).status_code == 202
    WebhookConfig.objects.filter(pk=config.pk).update(secret=SECRETS["generic"])

    answer = post(Client(), config, body_of(sample_payload("generic", marker="closed")))

    assert answer.status_code == 401
    assert WebhookEvent.objects.filter(accepted=True).count() == 1


@pytest.mark.django_db
def test_a_deactivated_or_deleted_endpoint_is_refused_at_once(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert signed_post(Client(), config, sample_payload("stripe", marker="a")).status_code == 202

    WebhookConfig.objects.filter(pk=config.pk).update(is_active=False)
    inactive = signed_post(Client(), config, sample_payload("stripe", marker="b"))
    WebhookConfig.objects.filter(pk=config.pk).update(is_active=True)
    active = signed_post(Client(), config, sample_payload("stripe", marker="c"))
    WebhookConfig.objects.filter(pk=config.pk).delete()
    deleted = signed_post(Client(), config, sample_payload("stripe", marker="d"))

    assert [inactive.status_code, active.status_code, deleted.status_code] == [410, 202, 404]
    assert "inactive" in inactive.json()["detail"]


@pytest.mark.django_db
def test_a_repeat_to_a_cached_endpoint_answers_with_the_first_event(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe", marker="dup")
    first = signed_post(Client(), config, payload)

    again = signed_post(Client(), config, payload)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"event_id": first.json()["event_id"], "status": "pending"}
    assert ProcrastinateJob.objects.filter(task_name="webhooks.process_event").count() == 1
