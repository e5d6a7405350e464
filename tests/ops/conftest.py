"""Helpers for operations tests: reading /metrics as Prometheus would."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from stitch import logs

TOKEN = "metrics-token-for-tests"


@dataclass
class Samples:
    """Every sample of one scrape, looked up by name and labels."""

    rows: list[tuple[str, dict[str, str], float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum over the samples of `name` whose labels include `labels` (0 if none)."""
        return sum(
            value
            for sample, sample_labels, value in self.rows
            if sample == name and labels.items() <= sample_labels.items()
        )

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [labels for sample, labels, _ in self.rows if sample == name]


def parse(text: str) -> Samples:
    rows = [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]
    return Samples(rows)


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ()
    return TOKEN


@pytest.fixture
def scrape(client: Any, metrics_token: str) -> Any:
    def scrape() -> Samples:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        assert response.status_code == 200, response.content
        return parse(response.content.decode())

    return scrape


# --- rows of procrastinate's tables, as a worker and the queue would leave them ----------
def worker_heartbeat(seconds_ago: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (now() - make_interval(secs => %s))",
            [seconds_ago],
        )


def todo_job(queue: str, *, waited: float = 0.0, scheduled_in: float | None = None) -> None:
    """A todo job deferred `waited` seconds ago (or scheduled `scheduled_in` from now,
    negative: due that long ago)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at)"
            " VALUES (%s, 'tests.nothing', '{}',"
            " CASE WHEN %s::float IS NULL THEN NULL"
            " ELSE now() + make_interval(secs => %s::float) END) RETURNING id",
            [queue, scheduled_in, scheduled_in],
        )
        (job_id,) = cursor.fetchone()
        # The insert trigger logged the 'deferred' event just now; move it back.
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - make_interval(secs => %s)"
            " WHERE job_id = %s",
            [waited, job_id],
        )


@pytest.fixture
def ops_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the `stitch.ops` logger writes during the test (as LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("stitch.ops")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
