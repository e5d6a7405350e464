"""Recovery (SPEC 7.6): events a crash left pending/processing are processed again, and
never twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from entities.models import Entity
from flows import bulk
from flows.models import Run
from tests.webhooks.conftest import sample_payload, signed_post
from webhooks import services, tasks
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

MakeConfig = Callable[..., WebhookConfig]


class Crash(BaseException):
    """The process dying mid-transaction (not an error the code could catch)."""


def deliver(config: WebhookConfig) -> WebhookEvent:
    response = signed_post(Client(), config, sample_payload("stripe"))
    assert response.status_code == 202
    return WebhookEvent.objects.get(pk=response.json()["event_id"])


def jobs_sql(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, [tasks.PROCESS_TASK])


def age(event: WebhookEvent, seconds: int = 120) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=past, claimed_at=past)


def test_an_event_whose_worker_crashed_mid_processing_is_processed_once_later(
    make_config: MakeConfig, run_jobs: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config("stripe")
    event = deliver(config)

    def crash(**kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(services, "run_start", crash)
    monkeypatch.setattr(bulk, "runs_start", crash)  # the batch path
    with pytest.raises(Crash):
        services.webhook_event_process(event_id=event.id)
    monkeypatch.undo()
    # The worker died with its job: the queue will never run it again.
    jobs_sql("DELETE FROM procrastinate_jobs WHERE task_name = %s")

    event.refresh_from_db()
    assert event.status == "pending"  # the claim rolled back with everything else
    assert not Entity.objects.exists() and not Run.objects.exists()  # no half result
    assert services.webhook_events_recover() == []  # too recent: may still be running

    age(event)
    assert services.webhook_events_recover() == [event.id]
    run_jobs()

    event.refresh_from_db()
    assert event.status == "completed", event.error
    assert Entity.objects.count() == 1 and Run.objects.count() == 1
    assert services.webhook_events_recover() == []


def test_a_pending_event_whose_job_failed_is_requeued(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    event = deliver(make_config("stripe"))
    jobs_sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE task_name = %s")
    age(event)

    assert services.webhook_events_recover() == [event.id]
    run_jobs()

    event.refresh_from_db()
    assert event.status == "completed"


def test_an_event_whose_job_is_still_queued_is_left_to_the_queue(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    event = deliver(make_config("stripe"))
    age(event)
    assert services.webhook_events_recover() == []
    run_jobs()
    event.refresh_from_db()
    assert event.status == "completed"
    assert Run.objects.count() == 1


def test_a_job_left_running_by_a_dead_worker_is_retried(
    make_config: MakeConfig, run_jobs: Callable[..., None]
) -> None:
    event = deliver(make_config("stripe"))
    # What a killed worker leaves once its heartbeat row is pruned: a `doing` job
    # with no worker.
    jobs_sql(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE task_name = %s"
    )
    tasks.retry_stalled_jobs.defer(timestamp=0)  # type: ignore[call-arg]

    run_jobs()

    event.refresh_from_db()
    assert event.status == "completed", event.error
    assert Run.objects.count() == 1
