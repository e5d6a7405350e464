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
    SELECT gen_random_uuid(), %(config)s, '{"id": 1}'::jsonb, %(prefix)s || i
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
        cursor.execute(FILL, {"config": config.pk, "count": EVENTS, "prefix": "evt_"})
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


# --- plans under the statistics of a quiet moment --------------------------------------
#
# ANALYZE (autovacuum's, or a cron job's) mostly runs between bursts: every event done,
# no job waiting. The planner then expects about one pending event and one queued job,
# and a burst arrives before the next ANALYZE. A plan chosen for one row must not scan
# the burst once per row (bench/webhooks.py: a batch's attempt statement went from ~2 ms
# to 120-190 ms, processing from 665 to 171 events/s, once such statistics were taken).
BURST = 5_000


def buffers(statement: str, params: dict[str, Any]) -> tuple[int, int]:
    """Rows the statement returned and shared buffers it touched (EXPLAIN ANALYZE): a
    measure of its work that does not depend on the machine's speed."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
        top = cursor.fetchone()[0][0]["Plan"]
    return top["Actual Rows"], top["Shared Hit Blocks"] + top["Shared Read Blocks"]


@pytest.fixture
def burst_after_quiet_analyze(make_config: MakeConfig) -> list[Any]:
    config = make_config("stripe")
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"config": config.pk, "count": EVENTS, "prefix": "old_"})
        cursor.execute("UPDATE stitch_webhook_events SET status = 'completed'")
        cursor.execute("DELETE FROM procrastinate_jobs")
        # What waits in a quiet queue: the periodic jobs of other queues.
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args) "
            "VALUES ('default', 'stitch.sweep', 0, '{}'), ('media', 'media.sweep', 0, '{}')"
        )
        cursor.execute("ANALYZE stitch_webhook_events")
        cursor.execute("ANALYZE procrastinate_jobs")
        cursor.execute(FILL, {"config": config.pk, "count": BURST, "prefix": "new_"})
        cursor.execute(
            "SELECT (args->>'event_id')::uuid FROM procrastinate_jobs "
            "WHERE queue_name = 'webhooks' ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_burst_after_a_quiet_analyze_is_claimed_without_scanning_it(
    burst_after_quiet_analyze: list[Any],
) -> None:
    queued = burst_after_quiet_analyze
    params = {
        "leader": queued[0],
        "stale": timezone.now(),
        "queue": tasks.QUEUE,
        "task": tasks.PROCESS_TASK,
        "more": 49,
        "scan": 196,
    }
    attempted, work = buffers(sql.EVENTS_ATTEMPT, params)
    assert attempted == 50
    # About 40 buffers per event (its queued jobs, its key, its update) plus, at worst,
    # one read of the queued jobs (~BURST / 10): ~2,500 on fresh tables, ~3,600 after
    # the other tests' rolled-back rows. Reading the pending events once per event
    # (the plan this guards against) is ~18,000.
    assert work < 5_000, work

    claimed, work = buffers(sql.EVENTS_CLAIM, {"ids": queued[:50], "stale": timezone.now()})
    assert claimed == 50
    assert work < 3_000, work  # 50 rows found by key and updated, with their indexes
