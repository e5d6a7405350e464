"""The plans the batch and intake statements rely on (webhooks/sql.py), checked with
EXPLAIN on filled tables: every lookup of an event, job or entity is an index scan."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import sql, tasks
from webhooks.models import WebhookConfig

MakeConfig = Callable[..., WebhookConfig]
EVENTS = 20_000

FILL = """
WITH events AS (
    INSERT INTO stitch_webhook_events (id, webhook_config_id, payload, provider_event_id)
    SELECT gen_random_uuid(), %(config)s, '{"id": 1}'::jsonb, 'evt_' || i
    FROM generate_series(1, %(count)s) AS i
    RETURNING id
)
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args)
SELECT 'webhooks', 'webhooks.process_event', 0, jsonb_build_object('event_id', id)
FROM events
"""


def plan(statement: str, params: dict[str, Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


# The tables that grow; the configs table stays a few pages (read as a whole).
BIG = ("stitch_webhook_events", "procrastinate_jobs", "stitch_entities")


def seq_scans(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if "Seq Scan on" in line and any(f"on {table} " in line for table in BIG)
    ]


@pytest.fixture
def filled(make_config: MakeConfig) -> dict[str, Any]:
    config = make_config("stripe")
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"config": config.pk, "count": EVENTS})
        cursor.execute("ANALYZE stitch_webhook_events")
        cursor.execute("ANALYZE procrastinate_jobs")
        cursor.execute("SELECT id FROM stitch_webhook_events ORDER BY id LIMIT 50")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT id FROM procrastinate_jobs ORDER BY id LIMIT 50")
        jobs = [row[0] for row in cursor.fetchall()]
    return {"config": config, "ids": ids, "jobs": jobs}


@pytest.mark.django_db
def test_the_batch_statements_use_indexes(filled: dict[str, Any]) -> None:
    ids, stale = filled["ids"], timezone.now()
    rows = json.dumps([{"id": str(i), "status": "completed"} for i in ids])
    plans = {
        "attempt": plan(
            sql.EVENTS_ATTEMPT,
            {
                "leader": ids[0],
                "stale": stale,
                "queue": tasks.QUEUE,
                "task": tasks.PROCESS_TASK,
                "more": 49,
                "scan": 196,
            },
        ),
        "claim": plan(sql.EVENTS_CLAIM, {"ids": ids, "stale": stale}),
        "jobs": plan(sql.JOBS_DELETE, {"ids": filled["jobs"]}),
        "finish": plan(sql.EVENTS_FINISH, {"rows": rows, "ids": ids}),
        "existing": plan(
            sql.EVENT_EXISTING, {"config": filled["config"].pk, "provider_event_id": "evt_7"}
        ),
    }
    assert {name: seq_scans(text) for name, text in plans.items()} == {
        name: [] for name in plans
    }, plans


@pytest.mark.django_db
def test_the_intake_statement_uses_indexes(filled: dict[str, Any]) -> None:
    config = filled["config"]
    delivery = {
        "n": 0,
        "id": str(uuid.uuid4()),
        "config": str(config.pk),
        "source": config.source,
        "secret": config.secret,
        "require_signature": config.require_signature,
        "provider_event_id": "evt_new",
        "payload": {"id": "evt_new"},
        "job_args": {"event_id": "x"},
    }
    params = {"deliveries": json.dumps([delivery]), "queue": "webhooks", "task": "t"}
    text = plan(sql.EVENTS_ACCEPT, params)
    assert seq_scans(text) == [], text
