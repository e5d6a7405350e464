"""Poison events (SPEC 7.5): an event the database refuses ends `failed` with the reason
after a bounded number of attempts; it is never retried forever, never mistaken for a
database outage, and never blocks the recovery of other events."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import timedelta

import psycopg.errors
import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from entities.models import Entity
from flows import bulk
from flows.models import Run
from tests.factories import WebhookEventFactory
from tests.webhooks.conftest import sample_payload, signed_post
from webhooks import services, tasks
from webhooks.models import WebhookConfig, WebhookEvent

MakeConfig = Callable[..., WebhookConfig]


def incompressible(length: int, seed: int = 7) -> str:
    # PostgreSQL compresses long index keys; random letters barely compress, so a few KB
    # really pass the btree limit (about 2.7 KB per index row).
    chooser = random.Random(seed)
    return "".join(chooser.choices(string.ascii_letters + string.digits, k=length))


def deliver(config: WebhookConfig, payload: dict) -> WebhookEvent:
    response = signed_post(Client(), config, payload)
    assert response.status_code == 202, response.content
    return WebhookEvent.objects.get(pk=response.json()["event_id"])


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["email", "entity_type"])
def test_a_value_too_long_for_its_index_fails_the_event_with_the_reason(
    field: str, make_config: MakeConfig
) -> None:
    mapping = {"name": "$.customer.name", "email": "$.customer.email", "entity_type": "$.kind"}
    config = make_config("stripe", entity_mapping=mapping)
    payload = sample_payload("stripe") | {"kind": "customer"}
    long_value = incompressible(6000)
    if field == "email":
        payload["customer"]["email"] = f"{long_value}@example.com"
    else:
        payload["kind"] = long_value
    event = deliver(config, payload)

    result = services.webhook_event_process(event_id=event.id)

    assert result is not None and result.status == "failed"
    event.refresh_from_db()
    assert event.status == "failed"
    assert "database refused" in (event.error or "")
    assert "index" in (event.error or "")
    assert not Entity.objects.exists() and not Run.objects.exists()
    assert event.payload == payload  # kept for a replay once the mapping is fixed


def transient(sqlstate_error: type[Exception]) -> OperationalError:
    error = OperationalError("the database is busy")
    error.__cause__ = sqlstate_error("simulated")
    return error


@pytest.mark.django_db
def test_a_transient_database_error_leaves_the_event_for_another_attempt(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = deliver(make_config("stripe"), sample_payload("stripe"))

    def deadlock(**kwargs: object) -> None:
        raise transient(psycopg.errors.DeadlockDetected)

    monkeypatch.setattr(services, "run_start", deadlock)
    monkeypatch.setattr(bulk, "runs_start", deadlock)  # the batch path
    with pytest.raises(OperationalError):
        services.webhook_event_process(event_id=event.id)

    event.refresh_from_db()
    assert event.status == "pending"
    assert event.attempts == 1
    assert "DeadlockDetected" in (event.error or "") or "busy" in (event.error or "")


@pytest.mark.django_db
def test_an_event_that_keeps_failing_transiently_ends_failed_after_the_last_attempt(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    event = deliver(make_config("stripe"), sample_payload("stripe"))

    def timeout(**kwargs: object) -> None:
        raise transient(psycopg.errors.QueryCanceled)

    monkeypatch.setattr(services, "run_start", timeout)
    monkeypatch.setattr(bulk, "runs_start", timeout)  # the batch path
    for _ in range(3):
        with pytest.raises(OperationalError):
            services.webhook_event_process(event_id=event.id)
    result = services.webhook_event_process(event_id=event.id)

    assert result is not None and result.status == "failed"
    event.refresh_from_db()
    assert event.status == "failed"
    assert "gave up after 3 attempts" in (event.error or "")
    assert "busy" in (event.error or "")


@pytest.mark.django_db
def test_a_replay_starts_counting_attempts_again(
    make_config: MakeConfig, settings: SettingsWrapper
) -> None:
    event = WebhookEventFactory.create(webhook_config=make_config("stripe"), attempts=5)
    WebhookEvent.objects.filter(pk=event.pk).update(status="failed")
    replayed = services.webhook_event_replay(event_id=event.pk)
    assert replayed.attempts == 0


def age(events: list[WebhookEvent], seconds: int = 600) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    ids = [e.pk for e in events]
    WebhookEvent.objects.filter(pk__in=ids).update(received_at=past, claimed_at=past)


@pytest.mark.django_db(transaction=True)
def test_stuck_events_with_live_jobs_do_not_hide_others_from_the_recovery_sweep(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    config = make_config("stripe")
    # Twenty old events whose jobs are still queued (say, retrying after an outage) ...
    waiting = [deliver(config, sample_payload("stripe", marker=f"w{i}")) for i in range(20)]
    age(waiting, seconds=900)
    # ... and one younger stuck event whose job is gone.
    orphan = deliver(config, sample_payload("stripe", marker="orphan"))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE args->>'event_id' = %s", [str(orphan.id)]
        )
    age([orphan], seconds=300)

    # The sweep takes the oldest `limit` events: with the filter applied after the limit,
    # the twenty waiting ones would fill it every time and the orphan would never return.
    assert services.webhook_events_recover(limit=20) == [orphan.id]


def job_statuses() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM procrastinate_jobs WHERE task_name = %s GROUP BY 1",
            [tasks.PROCESS_TASK],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_failed_processing_jobs_do_not_pile_up(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    config = make_config("stripe")
    old, _recent = (deliver(config, sample_payload("stripe", marker=m)) for m in ("old", "new"))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE task_name = %s",
            [tasks.PROCESS_TASK],
        )
        # What an outage leaves behind: one job failed two hours ago, one just now.
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '2 hours'"
            " WHERE job_id IN (SELECT id FROM procrastinate_jobs WHERE args->>'event_id' = %s)",
            [str(old.id)],
        )
    tasks.remove_failed_jobs.defer(timestamp=0)  # type: ignore[call-arg]
    run_jobs()

    assert job_statuses() == {"failed": 1}  # the recent one stays an hour for a look
