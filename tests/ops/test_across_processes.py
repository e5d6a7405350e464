"""Metrics and logs with real processes: two uvicorn web processes and one
`manage.py procrastinate worker` sharing one METRICS_DIR (as on one machine), the
test database and Redis db 13, as in tests/entities/test_scale_out.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.models import Run
from stitch.models import User
from tests.entities.live_servers import (
    ROOT,
    child_env,
    echo_workflow,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.entities.test_scale_out import redis_url
from tests.factories import CanvasFactory, FlowFactory, WebhookConfigFactory
from tests.ops.conftest import TOKEN, Samples, parse
from tests.webhooks.conftest import body_of, generic_header
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER = [str(ROOT / ".venv/bin/python"), "manage.py", "procrastinate", "worker"]
SECRET = "generic-secret-for-ops-tests"
MAPPING = {"name": "$.who", "email": "$.email", "entity_type": "lead"}


def echo_config(owner: User) -> WebhookConfig:
    return WebhookConfigFactory.create(
        canvas=CanvasFactory.create(owner=owner),
        workflow=FlowFactory.create(owner=owner, graph=echo_workflow()),
        source="generic",
        secret=SECRET,
        entity_mapping=MAPPING,
    )


def deliver(port: int, config: WebhookConfig, payload: dict, **headers: str) -> httpx.Response:
    body = body_of(payload)
    signed = generic_header(SECRET, body) if "X-Webhook-Signature" not in headers else {}
    return httpx.post(
        f"http://127.0.0.1:{port}/api/webhooks/{config.endpoint_slug}/",
        content=body,
        headers={"Content-Type": "application/json", **signed, **headers},
    )


def scrape(port: int) -> Samples:
    response = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200, response.text
    return parse(response.text)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextmanager
def servers(tmp_path: Path, webs: int) -> Iterator[list[int]]:
    ports = [free_port() for _ in range(webs)]
    env = child_env(
        REDIS_URL=redis_url(),
        RUN_JOBS_IN_WEB="false",
        METRICS_DIR=str(tmp_path / "metrics"),
        METRICS_TOKEN=TOKEN,
        LOG_FORMAT="json",
    )
    with processes([*(uvicorn_command(p) for p in ports), WORKER], env, tmp_path / "logs"):
        for port in ports:
            wait_until_serving(port)
        yield ports


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # not ours (a library printing on its own)
    return lines


def test_counters_add_up_across_two_web_processes_and_a_worker(owner: User, tmp_path: Path) -> None:
    config = echo_config(owner)
    workflow = FlowFactory.create(owner=owner, graph=echo_workflow())
    token = owner.auth_token.key

    with servers(tmp_path, webs=2) as (first, second):
        for n, port in enumerate([first, first, first, second, second]):
            payload = {"id": f"evt-{n}", "who": f"Person {n}", "email": f"p{n}@example.com"}
            assert deliver(port, config, payload).status_code == 202
        assert deliver(second, config, {"id": "evt-0"}).status_code == 200  # a repeat
        forged = deliver(first, config, {"id": "evt-x"}, **{"X-Webhook-Signature": "sha256=00"})
        assert forged.status_code == 401
        started = httpx.post(
            f"http://127.0.0.1:{second}/api/flows/{workflow.pk}/runs/",
            json={"input": {}},
            headers={"Authorization": f"Token {token}"},
        )
        assert started.status_code == 201, started.text
        wait_for(lambda: Run.objects.filter(status="completed").count() == 6, "6 runs")

        views = [scrape(first), scrape(second)]

    for samples in views:
        deliveries = "stitch_webhook_deliveries_total"
        assert samples.value(deliveries, source="generic", outcome="accepted") == 5
        assert samples.value(deliveries, source="generic", outcome="duplicate") == 1
        assert samples.value(deliveries, source="generic", outcome="refused") == 1
        route = "/api/webhooks/(?P<endpoint_slug>[A-Za-z0-9_-]{1,100})/"
        requests = "stitch_http_requests_total"
        assert samples.value(requests, route=route, status="202", method="POST") == 5
        assert samples.value(requests, route="/api/flows/<uuid:flow_id>/runs/", status="201") == 1
        # Counted by the worker process, read through the web processes.
        processed = "stitch_webhook_events_processed_total"
        assert samples.value(processed, source="generic", outcome="completed") == 5
        assert samples.value("stitch_dispatches_total", outcome="completed") == 12
        assert samples.value("stitch_dispatch_duration_seconds_count", outcome="completed") == 12
        # Read from PostgreSQL at scrape time.
        assert samples.value("stitch_runs", status="completed") == 6
        assert samples.value("stitch_webhook_events_pending") == 0
        assert samples.value("stitch_job_workers") >= 1


def test_json_log_lines_carry_the_request_id_from_the_request_into_its_job(
    owner: User, tmp_path: Path
) -> None:
    config = echo_config(owner)
    with servers(tmp_path, webs=1) as (port,):
        # No `who`: the mapping has no name, so processing fails (a line worth knowing).
        answer = deliver(port, config, {"id": "evt-1"}, **{"X-Request-ID": "trace-ops-14"})
        assert answer.status_code == 202
        assert answer.headers["X-Request-ID"] == "trace-ops-14"
        event_id = answer.json()["event_id"]
        wait_for(
            lambda: WebhookEvent.objects.filter(pk=event_id, status="failed").exists(),
            "the event to fail",
        )
        forged = deliver(port, config, {"id": "evt-2"}, **{"X-Webhook-Signature": "sha256=00"})
        worker_log = tmp_path / "logs" / "proc-1.log"
        wait_for(lambda: "webhook event failed" in worker_log.read_text(), "the worker's line")
    [failed] = [
        line for line in json_lines(worker_log) if line["message"] == "webhook event failed"
    ]
    assert failed["request_id"] == "trace-ops-14"
    assert failed["event_id"] == event_id
    assert failed["task"] == "webhooks.process_event"
    assert failed["level"] == "warning"
    assert "name" in failed["error"]
    # The web process logged the refused delivery (with its own request id), and no line
    # for the healthy one.
    web = json_lines(tmp_path / "logs" / "proc-0.log")
    [refused] = [line for line in web if line["message"] == "webhook delivery refused"]
    assert refused["request_id"] == forged.headers["X-Request-ID"]
    assert refused["reason"].startswith("signature")
    assert not [line for line in web if line.get("request_id") == "trace-ops-14"]
