"""`POST /api/webhook-events/replay/` and the admin's bulk replay: exactly the filtered
events of the caller, and a second identical call does nothing new."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from stitch.models import User
from tests.conftest import client_for
from tests.factories import CanvasFactory, UserFactory, WebhookConfigFactory, WebhookEventFactory
from tests.jobrunner import jobs_clear
from webhooks.models import WebhookConfig, WebhookEvent

URL = "/api/webhook-events/replay/"
DAY = datetime(2026, 3, 2, tzinfo=UTC)


def config_of(user: User) -> WebhookConfig:
    return WebhookConfigFactory.create(canvas=CanvasFactory.create(owner=user))


def event(config: WebhookConfig, *, at: datetime, status: str = "failed", **fields: Any) -> Any:
    return WebhookEventFactory.create(
        webhook_config=config, received_at=at, status=status, error="boom", **fields
    ).pk


def replay_jobs() -> list[str]:
    jobs = ProcrastinateJob.objects.filter(task_name="webhooks.process_event", status="todo")
    return sorted(str(args["event_id"]) for args in jobs.values_list("args", flat=True))


def ids(*values: Any) -> list[str]:
    return sorted(str(v) for v in values)


@pytest.fixture
def day(owner: User, other: User) -> dict[str, Any]:
    """Events of one day and around it: two configs of the owner, one of someone else."""
    first, second, theirs = config_of(owner), config_of(owner), config_of(other)
    noon = DAY + timedelta(hours=12)
    return {
        "first": first,
        "second": second,
        "in_day": [event(first, at=noon), event(first, at=noon + timedelta(hours=3))],
        "day_before": event(first, at=DAY - timedelta(hours=1)),
        "completed": event(first, at=noon, status="completed"),
        "refused": event(first, at=noon, accepted=False, provider_event_id=None),
        "second_config": event(second, at=noon),
        "theirs": event(theirs, at=noon),
    }


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_jobs_yet(db: None) -> None:
    jobs_clear()  # jobs left by earlier transactional tests (never rolled back)


def test_it_replays_exactly_the_filtered_events_of_the_caller(
    owner_client: APIClient, day: dict[str, Any]
) -> None:
    body = {
        "webhook_config_id": str(day["first"].pk),
        "status": "failed",
        "since": DAY.isoformat(),
        "until": (DAY + timedelta(days=1)).isoformat(),
    }
    response = owner_client.post(URL, body, format="json")

    assert response.status_code == 200
    assert response.json() == {"replayed": 2}
    assert replay_jobs() == ids(*day["in_day"])
    statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert all(statuses[pk] == "pending" for pk in day["in_day"])
    for untouched in ("day_before", "refused", "second_config", "theirs"):
        assert statuses[day[untouched]] == "failed", untouched
    assert statuses[day["completed"]] == "completed"


def test_a_second_identical_call_does_nothing_new(
    owner_client: APIClient, day: dict[str, Any]
) -> None:
    body = {"status": "failed", "until": (DAY + timedelta(days=1)).isoformat()}
    first = owner_client.post(URL, body, format="json").json()
    assert first == {"replayed": 4}  # day_before, the two of the day, second_config
    jobs = replay_jobs()
    # Even after they were processed and failed again, the same call replays none.
    WebhookEvent.objects.filter(status="pending").update(status="failed")

    again = owner_client.post(URL, body, format="json")

    assert again.status_code == 200
    assert again.json() == {"replayed": 0}
    assert replay_jobs() == jobs
    assert WebhookEvent.objects.filter(status="pending").count() == 0


def test_a_repeat_replays_only_what_newly_matches(
    owner_client: APIClient, day: dict[str, Any]
) -> None:
    body = {"webhook_config_id": str(day["second"].pk)}
    assert owner_client.post(URL, body, format="json").json() == {"replayed": 1}
    late = event(day["second"], at=timezone.now())

    assert owner_client.post(URL, body, format="json").json() == {"replayed": 1}
    assert replay_jobs() == ids(day["second_config"], late)


def test_another_filter_is_another_call(owner_client: APIClient, day: dict[str, Any]) -> None:
    assert owner_client.post(URL, {"status": "failed"}, format="json").json() == {"replayed": 4}
    # The same events under another filter are replayed again: a new request.
    body = {"webhook_config_id": str(day["first"].pk)}
    assert owner_client.post(URL, body, format="json").json() == {"replayed": 4}


def test_the_same_filter_from_another_user_is_their_own_call(
    other_client: APIClient, day: dict[str, Any]
) -> None:
    assert other_client.post(URL, {"status": "failed"}, format="json").json() == {"replayed": 1}
    assert replay_jobs() == ids(day["theirs"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "filter"),
        ([], "filter"),
        ({"statuss": "failed"}, "statuss"),
        ({"status": "failed", "extra": 1}, "extra"),
        ({"status": "lost"}, "status"),
        ({"status": None}, "status"),
        ({"webhook_config_id": "not-a-uuid"}, "webhook_config_id"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z"}, "until"),
    ],
)
def test_a_filter_it_cannot_use_is_a_400_naming_the_field(
    owner_client: APIClient, day: dict[str, Any], body: Any, field: str
) -> None:
    response = owner_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert replay_jobs() == []


def test_it_needs_a_login(anon_client: APIClient) -> None:
    assert anon_client.post(URL, {"status": "failed"}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_two_identical_calls_at_once_replay_each_event_once(owner: User) -> None:
    config = config_of(owner)
    events = [event(config, at=DAY) for _ in range(30)]
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def call() -> None:
        try:
            barrier.wait()
            # A filter the replay itself does not change: only the marks stop a double.
            body = {"webhook_config_id": str(config.pk)}
            response = client_for(owner).post(URL, body, format="json")
            answers.append(response.json()["replayed"])
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(answers) == 30
    assert replay_jobs() == ids(*events)


# --- admin ----------------------------------------------------------------------------
@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_the_admin_asks_with_the_count_then_replays_and_not_twice(
    operator: Client, day: dict[str, Any]
) -> None:
    changelist = "/admin/webhooks/webhookevent/?status__exact=failed"
    action = {"action": "replay", "select_across": "1", "_selected_action": [day["in_day"][0]]}

    page = operator.post(changelist, action).content.decode()

    # Failed events of the list: 5 accepted (3 first config, second, theirs) + 1 refused.
    assert "Replay 5 webhook event(s)?" in page
    assert "Left out: 1 refused deliveries (never replayed)." in page
    assert replay_jobs() == []
    done = operator.post(changelist, action | {"post": "yes"}, follow=True).content.decode()
    assert "5 event(s) queued for processing again." in done
    assert len(replay_jobs()) == 5
    WebhookEvent.objects.filter(status="pending").update(status="failed")

    asked = operator.post(changelist, action).content.decode()
    assert "Replay 0 webhook event(s)?" in asked
    assert "Left out: 5 already replayed by this same action." in asked
    again = operator.post(changelist, action | {"post": "yes"}, follow=True).content.decode()
    assert "Nothing new to do" in again
    assert len(replay_jobs()) == 5


def test_failed_events_of_a_day_can_be_listed_with_the_same_filter(
    owner_client: APIClient, day: dict[str, Any]
) -> None:
    query = {"status": "failed", "since": DAY.isoformat()}
    listed = owner_client.get("/api/webhook-events/", query).json()["results"]
    # The refused delivery is listed (it is a failed event) but never replayed.
    expected = [*day["in_day"], day["refused"], day["second_config"]]
    assert sorted(event["id"] for event in listed) == ids(*expected)
