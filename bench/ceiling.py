"""What PostgreSQL on this machine does for the SQL of each hot path (the ceiling).

    DATABASE_URL=postgres://postgres@127.0.0.1/stitch DEBUG=true \\
        .venv/bin/python bench/ceiling.py [--seconds 10] [--clients 8] [--passes 3]

pgbench (prepared protocol, `--clients` clients, 2 threads) runs one transaction script
per hot path on a scratch database (`<name>_ceiling` next to DATABASE_URL's, migrated
with the project's own migrations, dropped at the end), so the tables, indexes, CHECKs
and procrastinate's triggers are exactly the product's:

- ingest: insert a 1.2 KB webhook event + defer its job (procrastinate_defer_jobs_v1);
- pipeline: claim a job (SKIP LOCKED) + insert the entity + its journey event + a run +
  mark the event completed + finish (delete) the job — limits.md's pipeline line;
- callback: lock one run of a 1,000-way fan-out, complete one instance row, count it
  down on the Collector row and on the run's counters (all clients on the same run);
- move: lock an entity, update its position, insert a journey event.

Other benches import `measure()` and print their figures as a ratio to the ceiling
measured in the same run, because these machines are noisy and differ from each other.
The median of `--passes` passes is reported, with the range.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("ingest", "pipeline", "callback", "move")
FAN_OUT = 1000
ENTITIES = 10_000
# Pipeline transactions consume pre-made jobs: enough for a fast machine's pass.
PIPELINE_JOBS_PER_SECOND = 6000

PAYLOAD = json.dumps(
    {
        "id": "evt_ceiling",
        "type": "checkout.session.completed",
        "data": {"object": {"customer_details": {"name": "C", "email": "c@example.com"}}},
        "note": "x" * 1000,
    }
)

SCRIPTS = {
    "ingest": """
BEGIN;
INSERT INTO stitch_webhook_events
    (id, webhook_config_id, received_at, payload, provider_event_id, status, accepted)
VALUES (gen_random_uuid(), :config::uuid, now(), :payload::jsonb, gen_random_uuid()::text,
        'pending', true)
RETURNING id AS event_id \\gset
SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('webhooks', 'webhooks.process_event', 0,
    NULL, NULL, jsonb_build_object('event_id', :event_id::text), NULL
)::procrastinate_job_to_defer_v1]);
END;
""",
    "pipeline": """
BEGIN;
UPDATE procrastinate_jobs SET status = 'doing', attempts = attempts + 1
WHERE id = (SELECT id FROM procrastinate_jobs
            WHERE queue_name = 'webhooks' AND status = 'todo'
            ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id AS job_id, args->>'event_id' AS event_id \\gset
INSERT INTO stitch_entities (id, canvas_id, name, email, entity_type, journey, metadata,
    current_edge_id, edge_progress, sequence, created_at, updated_at)
VALUES (gen_random_uuid(), :canvas::uuid, 'Customer', :event_id::text || '@example.com', 'customer',
    '[]', '{"plan": "pro"}', 'signup', 0, 1, now(), now())
RETURNING id AS entity_id \\gset
INSERT INTO stitch_journey_events (id, entity_id, canvas_id, event_type, edge_id, progress,
    metadata, "timestamp")
VALUES (gen_random_uuid(), :entity_id::uuid, :canvas::uuid, 'edge_start', 'signup', 0, '{}', now());
INSERT INTO stitch_runs (id, flow_id, flow_version_id, entity_id, status, input, node_states,
    trigger, running_count, waiting_count, failed_count, done_count, total_count,
    created_at, updated_at)
VALUES (gen_random_uuid(), :workflow::uuid, :version::uuid, :entity_id::uuid, 'running', '{}', '{}',
    '{"type": "webhook"}', 1, 0, 0, 0, 1, now(), now());
UPDATE stitch_webhook_events SET status = 'completed', processed_at = now(),
    entity_id = :entity_id::uuid
WHERE id = :event_id::uuid;
DELETE FROM procrastinate_jobs WHERE id = :job_id::bigint;
END;
""",
    "callback": """
\\set i random(0, 999)
BEGIN;
SELECT id FROM stitch_runs WHERE id = :run::uuid FOR UPDATE;
UPDATE stitch_run_nodes SET status = 'completed', output = '{"ok": true}', finished_at = now()
WHERE run_id = :run::uuid AND node_id = 'work_' || :i;
UPDATE stitch_run_nodes SET blockers = blockers - 1, branch_active = branch_active - 1
WHERE run_id = :run::uuid AND node_id = 'gather';
UPDATE stitch_runs SET running_count = running_count - 1, updated_at = now()
WHERE id = :run::uuid;
END;
""",
    "move": """
\\set e random(1, 10000)
BEGIN;
SELECT id, sequence FROM stitch_entities WHERE id = md5(:e::text)::uuid FOR UPDATE;
UPDATE stitch_entities SET current_node_id = NULL, current_edge_id = 'signup',
    edge_progress = 0.5, sequence = sequence + 1, updated_at = now()
WHERE id = md5(:e::text)::uuid;
INSERT INTO stitch_journey_events (id, entity_id, canvas_id, event_type, edge_id, progress,
    metadata, "timestamp")
VALUES (gen_random_uuid(), md5(:e::text)::uuid, :canvas::uuid, 'edge_progress', 'signup', 0.5,
    '{}', now());
END;
""",
}

SETUP = """
INSERT INTO stitch_users (id, password, is_superuser, username, first_name, last_name,
    email, is_staff, is_active, date_joined)
VALUES (%(user)s, '!', false, 'ceiling', '', '', '', false, true, now());
INSERT INTO stitch_flows (id, owner_id, name, graph, canvas_type, created_at, updated_at)
VALUES (%(canvas)s, %(user)s, 'canvas',
        '{"nodes": [{"id": "leads"}, {"id": "customers"}],
          "edges": [{"id": "signup", "source": "leads", "target": "customers"}]}',
        'bmc', now(), now()),
       (%(workflow)s, %(user)s, 'workflow', '{"nodes": [], "edges": []}', 'workflow',
        now(), now());
INSERT INTO stitch_flow_versions (id, flow_id, number, graph, plan, created_at, updated_at)
VALUES (%(version)s, %(workflow)s, 1, '{}', '{}', now(), now());
INSERT INTO stitch_webhook_configs (id, canvas_id, workflow_id, name, source, endpoint_slug,
    require_signature, entry_edge_id, entity_mapping, is_active, created_at, updated_at)
VALUES (%(config)s, %(canvas)s, %(workflow)s, 'ceiling', 'stripe', 'ceiling', false,
        'signup', '{}', true, now(), now());
INSERT INTO stitch_runs (id, flow_id, flow_version_id, status, input, node_states, trigger,
    running_count, waiting_count, failed_count, done_count, total_count,
    created_at, updated_at)
VALUES (%(run)s, %(workflow)s, %(version)s, 'running', '{}', '{}', '{}', 1000000, 0, 0, 0,
        1002, now(), now());
INSERT INTO stitch_run_nodes (run_id, node_id, template_id, index, kind, status, blockers,
    branch_active, branch_failed, attempts, late_callbacks)
SELECT %(run)s::uuid, 'work_' || i, 'work', i, 'worker', 'running', 0, 0, 0, 1, '[]'::jsonb
FROM generate_series(0, %(width)s - 1) AS i
UNION ALL
SELECT %(run)s::uuid, 'gather', 'gather', NULL, 'collector', 'pending', 1000000, 1000000, 0, 0,
       '[]'::jsonb;
INSERT INTO stitch_entities (id, canvas_id, name, entity_type, journey, metadata,
    current_node_id, sequence, created_at, updated_at)
SELECT md5(i::text)::uuid, %(canvas)s::uuid, 'E' || i, 'customer', '[]'::jsonb, '{}'::jsonb,
       'leads', 0, now(), now()
FROM generate_series(1, %(entities)s) AS i;
"""

REFILL_PIPELINE = """
DELETE FROM procrastinate_jobs;
WITH events AS (
    INSERT INTO stitch_webhook_events (id, webhook_config_id, payload, provider_event_id)
    SELECT gen_random_uuid(), %(config)s::uuid, %(payload)s::jsonb, gen_random_uuid()::text
    FROM generate_series(1, %(count)s)
    RETURNING id
)
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args)
SELECT 'webhooks', 'webhooks.process_event', 0, jsonb_build_object('event_id', id)
FROM events;
"""

IDS = {
    "user": "00000000-0000-4000-8000-000000000001",
    "canvas": "00000000-0000-4000-8000-000000000002",
    "workflow": "00000000-0000-4000-8000-000000000003",
    "version": "00000000-0000-4000-8000-000000000004",
    "config": "00000000-0000-4000-8000-000000000005",
    "run": "00000000-0000-4000-8000-000000000006",
}


def scratch_url(base: str) -> str:
    parsed = urlparse(base)
    name = parsed.path.lstrip("/") or "stitch"
    return urlunparse(parsed._replace(path=f"/{name}_ceiling"))


def _admin_url(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/postgres"))


def _recreate(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true", "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def _execute_all(conn: psycopg.Connection, sql: str, params: dict[str, object]) -> None:
    """Run each statement of `sql` (a server-side prepared statement holds only one)."""
    for statement in sql.split(";\n"):
        if statement.strip():
            conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})


def _setup(url: str) -> None:
    with psycopg.connect(url) as conn:
        _execute_all(conn, SETUP, {**IDS, "width": FAN_OUT, "entities": ENTITIES})


def _prepare(url: str, shape: str, seconds: int) -> None:
    """Reset what a pass consumes or grows, so every pass starts alike."""
    with psycopg.connect(url, autocommit=True) as conn:
        if shape == "pipeline":
            count = PIPELINE_JOBS_PER_SECOND * seconds
            params = {"config": IDS["config"], "payload": PAYLOAD, "count": count}
            _execute_all(conn, REFILL_PIPELINE, params)
        elif shape == "ingest":
            conn.execute("DELETE FROM procrastinate_jobs")
        conn.execute("VACUUM ANALYZE")


def _pgbench(url: str, shape: str, *, seconds: int, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(SCRIPTS[shape])
    variables = {
        "config": IDS["config"],
        "canvas": IDS["canvas"],
        "workflow": IDS["workflow"],
        "version": IDS["version"],
        "run": IDS["run"],
        "payload": PAYLOAD,
    }
    command = [
        "pgbench",
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={min(clients, 2)}",
        f"--time={seconds}",
        f"--file={script.name}",
        *(f"--define={key}={value}" for key, value in variables.items()),
        url,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench {shape} failed:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def measure(
    shapes: Iterable[str] = SHAPES,
    *,
    seconds: int = 10,
    clients: int = 8,
    passes: int = 3,
    database_url: str | None = None,
) -> dict[str, dict[str, float]]:
    """{shape: {"median", "low", "high"}} transactions per second, on a scratch database."""
    url = scratch_url(database_url or os.environ["DATABASE_URL"])
    _recreate(url)
    try:
        _migrate(url)
        _setup(url)
        results: dict[str, dict[str, float]] = {}
        for shape in shapes:
            runs = []
            for _ in range(passes):
                _prepare(url, shape, seconds)
                runs.append(_pgbench(url, shape, seconds=seconds, clients=clients))
            results[shape] = {
                "median": statistics.median(runs),
                "low": min(runs),
                "high": max(runs),
            }
        return results
    finally:
        _drop(url)


def describe(results: dict[str, dict[str, float]]) -> str:
    return ", ".join(
        f"{shape} {r['median']:.0f}/s ({r['low']:.0f}-{r['high']:.0f})"
        for shape, r in results.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        raise SystemExit(f"unknown shapes: {', '.join(sorted(unknown))}")
    seconds = max(1, min(args.seconds, 60))  # bounded, whatever is asked
    results = measure(shapes, seconds=seconds, clients=args.clients, passes=args.passes)
    print(
        f"PostgreSQL ceiling (pgbench, prepared, {args.clients} clients, {seconds} s passes, "
        f"median of {args.passes}): {describe(results)} transactions/s"
    )


if __name__ == "__main__":
    main()
