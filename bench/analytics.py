"""Journey analytics over 1,000,000 events of 50,000 entities on one canvas.

    .venv/bin/python bench/analytics.py [--events 1000000] [--entities 50000] [--runs 5]

Uses its own database (BENCH_DATABASE_URL, default .../stitch_ent_bench; created and
migrated when missing) because it TRUNCATEs the entity tables. Data is generated in SQL
with generate_series: a canvas of 100 nodes / 100 edges, entities spread over nodes and
edges, and 20 events per entity cycling through arrival, completion, edge start (with
the seconds spent at the node it leaves) and two progress steps, over 90 days. Prints
the median of `--runs` timings of the analytics query and of the HTTP endpoints
(analytics, funnel, series), with and without a `since` window, and the plan nodes
the per-edge counts, the funnel and the series rely on.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stitch_ent_bench"
)
os.environ["DATABASE_URL"] = BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")

from bench.shared import ensure_database, median_ms  # noqa: E402

NODES = 100


def steps_of(count: int) -> str:
    return ",".join(f"n{i}" for i in range(1, count + 1))


ENTITIES_SQL = """
INSERT INTO stitch_entities (id, canvas_id, name, entity_type, current_node_id,
    current_edge_id, edge_progress, journey, metadata, sequence, created_at, updated_at)
SELECT gen_random_uuid(), %(canvas)s, 'entity ' || g, 'lead',
       CASE WHEN g %% 3 = 0 THEN 'n' || (g %% %(nodes)s) END,
       CASE WHEN g %% 3 = 1 THEN 'e' || (g %% %(nodes)s) END,
       CASE WHEN g %% 3 = 1 THEN round((g %% 100) / 100.0, 2) END,
       '[]', '{}', 20, now(), now()
FROM generate_series(1, %(entities)s) AS g
"""

# Event k of an entity: 0 arrival at node n (via edge e(n-1)), 1 completion at n,
# 2 start on edge e(n) leaving n after some seconds, 3-4 progress on e(n).
EVENTS_SQL = """
INSERT INTO stitch_journey_events (id, entity_id, canvas_id, event_type, node_id, edge_id,
    progress, metadata, "timestamp", previous_node_id, seconds_in_previous_node)
SELECT gen_random_uuid(), e.id, e.canvas_id,
       (ARRAY['node_arrival', 'node_complete', 'edge_start', 'edge_progress',
              'edge_progress'])[k %% 5 + 1],
       CASE WHEN k %% 5 IN (0, 1) THEN 'n' || ((k / 5 + h) %% %(nodes)s) END,
       CASE WHEN k %% 5 = 0 THEN 'e' || ((k / 5 + h + %(nodes)s - 1) %% %(nodes)s)
            WHEN k %% 5 >= 2 THEN 'e' || ((k / 5 + h) %% %(nodes)s) END,
       CASE WHEN k %% 5 = 2 THEN 0 WHEN k %% 5 = 3 THEN 0.5 WHEN k %% 5 = 4 THEN 1 END,
       '{}',
       now() - interval '90 days' + (k * interval '4 days') + (h * interval '1 minute'),
       CASE WHEN k %% 5 = 2 THEN 'n' || ((k / 5 + h) %% %(nodes)s) END,
       CASE WHEN k %% 5 = 2 THEN (hashint4(h * 31 + k) & 65535)::float END
FROM (SELECT id, canvas_id, abs(hashtext(id::text)) %% 1000 AS h FROM stitch_entities
      WHERE canvas_id = %(canvas)s) AS e
CROSS JOIN generate_series(0, %(per_entity)s - 1) AS k
"""


def graph() -> dict[str, Any]:
    nodes = [
        {"id": f"n{i}", "type": "section", "position": {"x": (i % 10) * 220, "y": (i // 10) * 120}}
        | {"data": {"label": f"Node {i}"}}
        for i in range(NODES)
    ]
    edges = [
        {"id": f"e{i}", "source": f"n{i}", "target": f"n{(i + 1) % NODES}"} for i in range(NODES)
    ]
    return {"nodes": nodes, "edges": edges}


def generate(entities: int, events: int) -> tuple[Any, Any]:
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from flows.models import Flow
    from stitch.models import User

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE stitch_journey_events, stitch_entities CASCADE")
    Flow.objects.all().delete()
    User.objects.filter(username="bench-analytics").delete()
    user = User.objects.create_user(username="bench-analytics", password="x")
    Token.objects.create(user=user)
    canvas = Flow.objects.create(owner=user, name="bench", canvas_type="bmc", graph=graph())
    params = {
        "canvas": canvas.pk,
        "nodes": NODES,
        "entities": entities,
        "per_entity": max(1, events // entities),
    }
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(ENTITIES_SQL, params)
        cursor.execute(EVENTS_SQL, params)
    generated = time.monotonic() - started
    with connection.cursor() as cursor:
        # Index-only scans need the visibility map that VACUUM writes (autovacuum
        # does it in production; a fresh bulk load has none yet).
        cursor.execute("VACUUM ANALYZE stitch_journey_events")
        cursor.execute("VACUUM ANALYZE stitch_entities")
        cursor.execute(
            "SELECT count(*) FROM stitch_journey_events WHERE canvas_id = %s", [canvas.pk]
        )
        count = cursor.fetchone()
    total = count[0] if count else 0
    print(f"generated {total:,} events / {entities:,} entities in {generated:.1f} s")
    return user, canvas


def explain(sql: str, params: dict[str, Any]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def scans(plan: str) -> str:
    """The scan nodes of a plan, e.g. "Index Only Scan using idx_journey_events_arrivals"."""
    found = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("-> ").strip()
        if " Scan " in f" {text}" and " on " in text:
            found.append(text.split(" on ")[0] + " on " + text.split(" on ")[1].split()[0])
    return "; ".join(dict.fromkeys(found)) or plan


def plans(canvas: Any) -> dict[str, str]:
    from datetime import timedelta

    from entities import analytics

    canvas_params = {"canvas": canvas.pk}
    funnel_params = {"canvas": canvas.pk, "nodes": ["n1", "n2", "n3"], "first": "n1"}
    funnel_params |= {"within": timedelta(30)}
    return {
        "counts": explain(analytics.FUNNEL_SQL.format(window=""), canvas_params),
        "funnel": explain(analytics.funnel_sql(since=False, until=False), funnel_params),
        "series": explain(
            analytics.SERIES_SQL.format(window=""), canvas_params | {"bucket": "day"}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ensure_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.test import APIClient

    from entities.analytics import canvas_analytics

    call_command("migrate", verbosity=0)
    user, canvas = generate(args.entities, args.events)
    client = APIClient()
    client.force_authenticate(user)
    url = f"/api/flows/{canvas.pk}/analytics/"
    since = (timezone.now() - timezone.timedelta(days=30)).isoformat()

    def endpoint(path: str = "", **query: str) -> Any:
        response = client.get(url + path, query, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    for name, plan in plans(canvas).items():
        print(f"{name} plan: {scans(plan)}")
    query_ms = median_ms(lambda: canvas_analytics(canvas=canvas), args.runs)
    steps = {"steps": "n1,n2,n3"}
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("analytics, whole history", "", {}),
        ("analytics, last 30 days", "", {"since": since}),
        ("funnel n1,n2,n3 within 30d, whole history", "funnel/", steps | {"within": "30d"}),
        ("funnel n1,n2,n3 within 60d, whole history", "funnel/", steps | {"within": "60d"}),
        ("funnel, 10 steps within 90d", "funnel/", {"steps": steps_of(10), "within": "90d"}),
        ("funnel, 20 steps within 90d", "funnel/", {"steps": steps_of(20), "within": "90d"}),
        ("funnel n1,n2,n3 within 30d, last 30 days", "funnel/", steps | {"since": since}),
        ("series by day, whole history", "series/", {"bucket": "day"}),
        ("series by week, whole history", "series/", {"bucket": "week"}),
        ("series by hour, whole history", "series/", {"bucket": "hour"}),
        ("series by hour, last 30 days", "series/", {"bucket": "hour", "since": since}),
    ]
    print(f"{'analytics query, whole history':45} {query_ms:7.1f} ms")
    for label, path, query in cases:
        ms = median_ms(lambda path=path, query=query: endpoint(path, **query), args.runs)
        print(f"{'GET ' + label:45} {ms:7.1f} ms")
    sample = canvas_analytics(canvas=canvas)
    print("sample node:", sample["nodes"][1], "\nsample edge:", sample["edges"][1])
    print("funnel:", endpoint("funnel/", **steps, within="60d")["steps"])
    series = endpoint("series/", bucket="week")["buckets"]
    print(
        f"series by week: {len(series)} buckets, first {series[0]['start']}: "
        f"{sum(series[0]['nodes'].values())} arrivals"
    )


if __name__ == "__main__":
    main()
