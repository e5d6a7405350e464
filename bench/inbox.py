"""The task inbox and the run view at scale.

    .venv/bin/python bench/inbox.py [--runs 200000] [--runs-waiting-busy 5000] [--repeat 5]

Uses its own database (BENCH_DATABASE_URL, default .../stitch_runs_bench; created and
migrated when missing; its runs are deleted first). Generates with generate_series 50
owners with a workflow each and `--runs` runs of five nodes spread over them (1 % of
the runs wait at their UX step, the rest are completed: a million node rows at the
default), plus one busy owner with `--runs-waiting-busy` runs all waiting; then
VACUUM ANALYZE. Prints the median of `--repeat` timings of the inbox query and page
for an ordinary owner, the busy one and one with nothing waiting; the inbox plan; and
the run view of a 1,000-way split (page with the template selected, state JSON, one
page of instances).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stitch_runs_bench"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no log line per sign-in

from bench.shared import ensure_database, median_ms  # noqa: E402

OWNERS = 50
NODES = ["n0", "n1", "n2", "n3", "review"]

RUNS_SQL = """
INSERT INTO stitch_runs (id, created_at, updated_at, status, input, node_states, trigger,
    flow_id, flow_version_id, done_count, failed_count, running_count, total_count,
    waiting_count, finished_at)
SELECT gen_random_uuid(), t, t, s, '{}', '{}', '{"type": "manual"}', f.id,
       f.current_version_id, 5, 0, 0, 5, (s = 'waiting')::int,
       CASE WHEN s = 'completed' THEN t + interval '5 minutes' END
FROM (
  SELECT g, now() - g * interval '7 seconds' AS t,
         CASE WHEN %(all_waiting)s OR (g / %(owners)s) %% 100 = 0
              THEN 'waiting' ELSE 'completed' END AS s,
         g %% %(owners)s AS k
  FROM generate_series(0, %(runs)s - 1) AS g
) AS r
JOIN (SELECT id, current_version_id, row_number() OVER (ORDER BY name) - 1 AS k
      FROM stitch_flows WHERE name LIKE %(names)s) AS f ON f.k = r.k
"""

NODES_SQL = """
INSERT INTO stitch_run_nodes (node_id, template_id, index, kind, status, blockers,
    branch_active, branch_failed, input, output, error, attempts, started_at,
    finished_at, callback_deadline, late_callbacks, run_id)
SELECT n.node_id, n.node_id, NULL, n.kind,
       CASE WHEN r.status = 'waiting' AND n.node_id = 'review'
            THEN 'waiting_for_user' ELSE 'completed' END,
       0, 0, 0, '{"customer": "someone"}', '{"ok": true}', NULL, 1,
       r.created_at + n.k * interval '1 minute',
       CASE WHEN r.status = 'completed' OR n.node_id <> 'review'
            THEN r.created_at + (n.k + 1) * interval '1 minute' END,
       NULL, '[]', r.id
FROM stitch_runs AS r
CROSS JOIN (VALUES ('n0', 'worker', 0), ('n1', 'worker', 1), ('n2', 'worker', 2),
                   ('n3', 'worker', 3), ('review', 'ux', 4)) AS n(node_id, kind, k)
WHERE r.flow_id IN (SELECT id FROM stitch_flows WHERE name LIKE %(names)s)
"""


def chain_graph() -> dict[str, Any]:
    nodes = [
        {"id": n, "type": "Worker", "position": {"x": i * 220, "y": 0}}
        | {"data": {"label": n, "workerType": "echo"}}
        for i, n in enumerate(NODES[:-1])
    ]
    nodes.append(
        {"id": "review", "type": "UX", "position": {"x": 880, "y": 0}, "data": {"label": "Review"}}
    )
    edges = [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in pairwise(NODES)]
    return {"nodes": nodes, "edges": edges}


def split_graph() -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "s", "type": "Splitter", "position": {"x": 0, "y": 0}}
            | {"data": {"label": "Split", "arrayPath": "$.items"}},
            {"id": "w", "type": "Worker", "position": {"x": 240, "y": 0}}
            | {"data": {"label": "Work", "webhookUrl": "http://127.0.0.1:9/"}},
            {"id": "c", "type": "Collector", "position": {"x": 480, "y": 0}}
            | {"data": {"label": "Collect"}},
        ],
        "edges": [
            {"id": "s-w", "source": "s", "target": "w"},
            {"id": "w-c", "source": "w", "target": "c"},
        ],
    }


def generate(runs: int, busy_runs: int) -> dict[str, Any]:
    from django.db import connection

    from flows import services
    from flows.models import Flow
    from stitch.models import User

    Flow.objects.filter(name__startswith="bench ").delete()
    User.objects.filter(username__startswith="bench-").delete()
    owners = [User.objects.create_user(username=f"bench-{k:02d}") for k in range(OWNERS)]
    for k, owner in enumerate(owners):
        services.flow_create(
            owner=owner, name=f"bench {k:02d}", graph=chain_graph(), canvas_type="workflow"
        )
    busy = User.objects.create_user(username="bench-busy")
    services.flow_create(owner=busy, name="benchbusy", graph=chain_graph(), canvas_type="workflow")
    idle = User.objects.create_user(username="bench-idle")
    services.flow_create(owner=idle, name="benchidle", graph=chain_graph(), canvas_type="workflow")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            RUNS_SQL, {"runs": runs, "owners": OWNERS, "all_waiting": False, "names": "bench %"}
        )
        cursor.execute(NODES_SQL, {"names": "bench %"})
        cursor.execute(
            RUNS_SQL, {"runs": busy_runs, "owners": 1, "all_waiting": True, "names": "benchbusy"}
        )
        cursor.execute(NODES_SQL, {"names": "benchbusy"})
        cursor.execute(
            "UPDATE stitch_runs SET status = 'completed', waiting_count = 0 WHERE flow_id IN "
            "(SELECT id FROM stitch_flows WHERE name = 'benchidle')"
        )
    took = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stitch_runs")
        cursor.execute("VACUUM ANALYZE stitch_run_nodes")
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'waiting_for_user')"
            " FROM stitch_run_nodes"
        )
        total, waiting = cursor.fetchone() or (0, 0)
    print(f"generated {total:,} run nodes ({waiting:,} waiting) in {took:.1f} s")
    return {"ordinary": owners[0], "busy": busy, "idle": idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--runs-waiting-busy", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ensure_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from flows import engine, services
    from flows.inbox import PAGE_SIZE, waiting_tasks
    from flows.models import Flow

    call_command("migrate", verbosity=0)
    users = generate(args.runs, args.runs_waiting_busy)
    sql, params = waiting_tasks(users["ordinary"])[:PAGE_SIZE].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    print("inbox plan:", "; ".join(line.strip() for line in plan if "Scan" in line))
    for label, user in users.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        query_ms = median_ms(lambda user=user: list(waiting_tasks(user)[:PAGE_SIZE]), args.repeat)
        tasks = waiting_tasks(user).count()

        def page(client: Client = client) -> None:
            assert client.get("/tasks/").status_code == 200

        print(
            f"inbox of the {label} owner ({tasks:,} tasks): query {query_ms:6.1f} ms, "
            f"GET /tasks/ {median_ms(page, args.repeat):6.1f} ms"
        )

    owner = users["ordinary"]
    Flow.objects.filter(name="bench split").delete()
    split = services.flow_create(
        owner=owner, name="bench split", graph=split_graph(), canvas_type="workflow"
    )
    run = engine.run_start(flow=split, input={"items": list(range(1000))})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(owner)
    for label, url in [
        ("run page, template selected", f"/runs/{run.pk}/?node=w"),
        ("state JSON", f"/runs/{run.pk}/state/"),
        ("node panel of the template", f"/runs/{run.pk}/node/?id=w"),
        ("instances, page 5", f"/runs/{run.pk}/instances/?template=w&page=5"),
    ]:

        def get(url: str = url) -> None:
            assert client.get(url).status_code == 200

        print(f"1,000-way split, {label:28} {median_ms(get, args.repeat):6.1f} ms")


if __name__ == "__main__":
    main()
