"""Idempotency on the provider's event id (SPEC 7.4), sequential and under real
concurrency: copies racing from 20 threads yield one event, one entity move, one run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from entities.models import Entity, JourneyEvent
from flows.models import Run
from tests.webhooks.conftest import body_of, generic_header, post, sample_payload, signed_post
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.services import webhook_event_process

MakeConfig = Callable[..., WebhookConfig]


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # surfaced by the assertions of the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db
def test_a_repeat_returns_200_with_the_first_event_and_does_nothing_else(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe", marker="dup")
    first = signed_post(Client(), config, payload)
    assert first.status_code == 202
    webhook_event_process(event_id=first.json()["event_id"])

    again = signed_post(Client(), config, payload)

    assert again.status_code == 200
    assert again.json() == {"event_id": first.json()["event_id"], "status": "completed"}
    assert WebhookEvent.objects.count() == 1
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_the_same_id_on_another_endpoint_is_another_event(make_config: MakeConfig) -> None:
    payload = sample_payload("stripe", marker="shared")
    one, two = make_config("stripe"), make_config("stripe")
    assert signed_post(Client(), one, payload).status_code == 202
    assert signed_post(Client(), two, payload).status_code == 202


@pytest.mark.django_db
def test_standard_webhooks_use_the_webhook_id_header(make_config: MakeConfig) -> None:
    config = make_config("standard")
    a = signed_post(Client(), config, {"customer": {}, "n": 1}, msg_id="msg_same")
    b = signed_post(Client(), config, {"customer": {}, "n": 2}, msg_id="msg_same")
    c = signed_post(Client(), config, {"customer": {}, "n": 1}, msg_id="msg_other")
    assert (a.status_code, b.status_code, c.status_code) == (202, 200, 202)
    assert b.json()["event_id"] == a.json()["event_id"]


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["typeform", "calendly", "generic"])
def test_each_provider_id_field_identifies_a_delivery(source: str, make_config: MakeConfig) -> None:
    config = make_config(source)
    payload = sample_payload(source, marker="same")
    assert signed_post(Client(), config, payload).status_code == 202
    assert signed_post(Client(), config, payload).status_code == 200
    other = sample_payload(source, marker="different")
    assert signed_post(Client(), config, other).status_code == 202


def generic_post(config: WebhookConfig, payload: dict, webhook_id: str | None) -> Any:
    body = body_of(payload)
    assert config.secret
    headers = generic_header(config.secret, body)
    if webhook_id is not None:
        headers["X-Webhook-Id"] = webhook_id
    return post(Client(), config, body, headers)


@pytest.mark.django_db
def test_generic_uses_the_signed_body_id_before_the_unsigned_header(
    make_config: MakeConfig,
) -> None:
    # SPEC 7.4: the header is not covered by the signature. Whoever holds one captured
    # delivery must not be able to replay it as new by changing X-Webhook-Id.
    config = make_config("generic")
    payload = {"id": "body-id", "customer": {}}
    one = generic_post(config, payload, "hdr-1")
    replayed = generic_post(config, payload, "hdr-2")
    assert (one.status_code, replayed.status_code) == (202, 200)
    assert replayed.json()["event_id"] == one.json()["event_id"]
    assert WebhookEvent.objects.get().provider_event_id == "body-id"


@pytest.mark.django_db
def test_generic_falls_back_to_the_x_webhook_id_header_without_a_body_id(
    make_config: MakeConfig,
) -> None:
    config = make_config("generic")
    one = generic_post(config, {"customer": {}}, "hdr-1")
    two = generic_post(config, {"customer": {}}, "hdr-2")
    again = generic_post(config, {"customer": {}}, "hdr-1")
    assert (one.status_code, two.status_code, again.status_code) == (202, 202, 200)
    assert WebhookEvent.objects.get(pk=one.json()["event_id"]).provider_event_id == "hdr-1"


LONG = "x" * 3000  # past the btree limit of the (config, provider_event_id) index


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "payload", "msg_id", "field"),
    [
        ("stripe", {"id": LONG}, "m", "id"),
        ("standard", {}, LONG, "webhook-id"),
        ("typeform", {"event_id": LONG}, "m", "event_id"),
        ("calendly", {"event": "invitee.created", "payload": {"uri": LONG}}, "m", "payload.uri"),
        ("generic", {"id": LONG}, "m", "id"),
    ],
)
def test_a_provider_event_id_too_long_for_its_index_is_400_naming_it(
    source: str, payload: dict, msg_id: str, field: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    response = signed_post(Client(), config, payload | {"customer": {}}, msg_id=msg_id)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert "500 characters" in response.json()[field][0]
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_copies_make_one_event_one_move_and_one_run(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe", marker="race")

    responses = in_threads(20, lambda i: signed_post(Client(), config, payload))

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 19 + [202], responses
    assert len({r.json()["event_id"] for r in responses}) == 1
    assert WebhookEvent.objects.count() == 1

    run_jobs()

    event = WebhookEvent.objects.get()
    assert event.status == "completed", event.error
    assert Entity.objects.count() == 1
    assert JourneyEvent.objects.filter(event_type="edge_start").count() == 1
    assert Run.objects.filter(trigger__type="webhook").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch_size", [1, 50])
def test_two_events_about_one_new_person_processed_at_once_make_one_entity(
    make_config: MakeConfig, settings: SettingsWrapper, batch_size: int
) -> None:
    settings.WEBHOOK_BATCH_SIZE = batch_size
    config = make_config("stripe")
    ids = []
    for marker in ("a", "b", "c", "d"):
        response = signed_post(Client(), config, sample_payload("stripe", marker=marker))
        ids.append(response.json()["event_id"])

    results = in_threads(4, lambda i: webhook_event_process(event_id=ids[i]))

    if batch_size == 1:
        assert all(isinstance(r, WebhookEvent) and r.status == "completed" for r in results)
    else:  # a call finds its event done by another's batch (None) or does it itself
        assert all(r is None or r.status == "completed" for r in results), results
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"completed"}
    assert Entity.objects.count() == 1
    assert Run.objects.count() == 4
