"""What /metrics reports: requests by route pattern and status, and the gauges read from
PostgreSQL at scrape time (pending events, jobs per queue, runs by status, workers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import FlowFactory, RunFactory, WebhookEventFactory
from tests.ops.conftest import Samples, todo_job, worker_heartbeat

pytestmark = pytest.mark.django_db

Scrape = Callable[[], Samples]
FLOW_ROUTE = "/api/flows/(?P<pk>[^/.]+)/"


def test_requests_are_counted_by_route_pattern_and_status(
    scrape: Scrape, owner: Any, owner_client: APIClient
) -> None:
    flows = [FlowFactory.create(owner=owner) for _ in range(2)]
    before = scrape()
    for flow in flows:
        assert owner_client.get(f"/api/flows/{flow.pk}/").status_code == 200
    assert owner_client.get("/api/flows/00000000-0000-0000-0000-000000000000/").status_code == 404

    after = scrape()
    labels = {"method": "GET", "route": FLOW_ROUTE}
    counted = "stitch_http_requests_total"
    ok = {**labels, "status": "200"}
    assert after.value(counted, **ok) - before.value(counted, **ok) == 2
    assert (
        after.value(counted, **labels, status="404") - before.value(counted, **labels, status="404")
        == 1
    )
    timed = "stitch_http_request_duration_seconds_count"
    assert after.value(timed, **labels) - before.value(timed, **labels) == 3
    # One series per pattern, never one per path.
    routes = {s["route"] for s in after.labels_of(counted)}
    assert not any(str(flow.pk) in route for flow in flows for route in routes)


def test_unknown_paths_and_methods_share_one_series(scrape: Scrape) -> None:
    before = scrape()
    for path in ("/no-such-page", "/another/one", "/wp-login.php"):
        Client().get(path)
    Client().generic("BREW", "/no-such-page")
    after = scrape()
    name = "stitch_http_requests_total"
    unmatched = after.value(name, route="unmatched") - before.value(name, route="unmatched")
    assert unmatched == 4
    assert after.value(name, method="other", route="unmatched") >= 1
    assert not any("wp-login" in s["route"] for s in after.labels_of(name))


def test_every_response_carries_a_request_id() -> None:
    response = Client().get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_pending_events_and_the_age_of_the_oldest(scrape: Scrape) -> None:
    hour_ago = timezone.now() - timedelta(hours=1)
    WebhookEventFactory.create(received_at=hour_ago)
    WebhookEventFactory.create()
    WebhookEventFactory.create(status="processing")
    WebhookEventFactory.create(status="completed", received_at=hour_ago - timedelta(hours=1))
    WebhookEventFactory.create(accepted=False, status="failed", provider_event_id=None)

    samples = scrape()

    assert samples.value("stitch_webhook_events_pending") == 3
    age = samples.value("stitch_webhook_events_oldest_pending_age_seconds")
    assert 3600 <= age < 3700


def test_jobs_per_queue_and_status_and_the_age_of_the_oldest_due(scrape: Scrape) -> None:
    todo_job("webhooks", waited=50)
    todo_job("webhooks", waited=5)
    todo_job("engine", waited=1)
    todo_job("engine", waited=999, scheduled_in=600)  # not due yet

    samples = scrape()

    assert samples.value("stitch_jobs", queue="webhooks", status="todo") == 2
    assert samples.value("stitch_jobs", queue="engine", status="todo") == 2
    assert samples.value("stitch_jobs_due", queue="engine") == 1
    assert 50 <= samples.value("stitch_jobs_oldest_due_age_seconds", queue="webhooks") < 100
    assert samples.value("stitch_jobs_oldest_due_age_seconds", queue="engine") < 60


def test_runs_by_status_and_worker_heartbeats(scrape: Scrape, owner: Any) -> None:
    flow = FlowFactory.create(owner=owner)
    for status in ("running", "running", "failed", "completed"):
        RunFactory.create(flow=flow, status=status)
    worker_heartbeat(seconds_ago=3)

    samples = scrape()

    assert samples.value("stitch_runs", status="running") == 2
    assert samples.value("stitch_runs", status="failed") == 1
    assert samples.value("stitch_runs", status="completed") == 1
    assert {"status": "cancelled"} in samples.labels_of("stitch_runs")  # 0, but present
    assert samples.value("stitch_job_workers") == 1
    assert 3 <= samples.value("stitch_job_worker_heartbeat_age_seconds") < 60


def test_bodies_refused_before_django_are_counted_as_413s(scrape: Scrape) -> None:
    """The body-limit layer answers 413 in front of Django: it is a request all the same."""
    from asgiref.sync import async_to_sync

    from stitch.bodylimit import BodyLimitMiddleware, body_limit

    async def never_called(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a refused body must not reach the app")

    sent: list[Mapping[str, Any]] = []

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    path = "/api/webhooks/some-slug/"
    too_long = str(body_limit("POST", path) + 1).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", too_long)],
    }
    before = scrape()
    async_to_sync(BodyLimitMiddleware(never_called))(scope, receive, send)
    after = scrape()
    assert sent[0]["status"] == 413
    labels = {
        "method": "POST",
        "route": "/api/webhooks/(?P<endpoint_slug>[A-Za-z0-9_-]{1,100})/",
        "status": "413",
    }
    name = "stitch_http_requests_total"
    assert after.value(name, **labels) - before.value(name, **labels) == 1
