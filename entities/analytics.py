"""Journey analytics of one canvas (SPEC section 6).

`canvas_analytics` is three grouped queries, each served by an index chosen for it
(see entities.models):
- the counts (starts, arrivals, completions) read only `idx_journey_events_funnel`
  (canvas_id, event_type, edge_id, node_id) INCLUDE (timestamp): an index-only scan
  over the canvas's events, no join to entities;
- median and p90 time in node read the partial index `idx_journey_events_node_time`
  over the events that left a node, which carry the seconds spent there (written by
  the movement service), instead of a window over every entity's history;
- "now here / travelling now" count current positions through
  `idx_entities_canvas_position`.
Time windows (`since`, `until`) apply to events; current positions are always "now".

`canvas_funnel` and `canvas_series` read arrivals only (`node_arrival` and
`manual_move`), through the partial index `idx_journey_events_arrivals`; their plans
are described with their SQL below.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from entities.services import canvas_graph_ids
from flows.models import Flow
from stitch.errors import FieldError

FUNNEL_SQL = """
SELECT event_type, edge_id, node_id, count(*)
FROM stitch_journey_events
WHERE canvas_id = %(canvas)s
  AND event_type IN ('edge_start', 'node_arrival', 'node_complete', 'manual_move')
  {window}
GROUP BY event_type, edge_id, node_id
"""

MEDIAN_SQL = """
SELECT previous_node_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_in_previous_node),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds_in_previous_node)
FROM stitch_journey_events
WHERE canvas_id = %(canvas)s
  AND previous_node_id IS NOT NULL
  AND seconds_in_previous_node IS NOT NULL
  {window}
GROUP BY previous_node_id
"""

POSITION_SQL = """
SELECT current_node_id, current_edge_id, count(*)
FROM stitch_entities
WHERE canvas_id = %(canvas)s
  AND (current_node_id IS NOT NULL OR current_edge_id IS NOT NULL)
GROUP BY current_node_id, current_edge_id
"""


def _window(since: datetime | None, until: datetime | None) -> str:
    parts = []
    if since is not None:
        parts.append('AND "timestamp" >= %(since)s')
    if until is not None:
        parts.append('AND "timestamp" < %(until)s')
    return "\n  ".join(parts)


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def canvas_analytics(
    *, canvas: Flow, since: datetime | None = None, until: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Per node and per edge of the canvas graph, in graph order."""
    params = {"canvas": canvas.pk, "since": since, "until": until}
    window = _window(since, until)
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    for event_type, edge_id, node_id, count in _rows(FUNNEL_SQL.format(window=window), params):
        if event_type == "edge_start":
            counts["starts", edge_id] += count
        elif event_type == "node_arrival":
            counts["edge_arrivals", edge_id] += count
            counts["arrivals", node_id] += count
        elif event_type == "manual_move":
            counts["arrivals", node_id] += count
        else:
            counts["completions", node_id] += count
    for node_id, edge_id, count in _rows(POSITION_SQL, params):
        counts[("current", node_id) if node_id else ("travelling", edge_id)] += count
    times = {row[0]: row[1:] for row in _rows(MEDIAN_SQL.format(window=window), params)}

    node_ids, edges = canvas_graph_ids(canvas)
    nodes = [_node_row(node_id, counts, times.get(node_id, (None, None))) for node_id in node_ids]
    return {"nodes": nodes, "edges": [_edge_row(edge_id, counts) for edge_id in edges]}


def _node_row(
    node_id: str, counts: dict[tuple[str, str | None], int], times: tuple[Any, ...]
) -> dict[str, Any]:
    median, p90 = times
    return {
        "id": node_id,
        "current": counts["current", node_id],
        "arrivals": counts["arrivals", node_id],
        "completions": counts["completions", node_id],
        "median_seconds": _seconds(median),
        "p90_seconds": _seconds(p90),
    }


def _edge_row(edge_id: str, counts: dict[tuple[str, str | None], int]) -> dict[str, Any]:
    starts, arrivals = counts["starts", edge_id], counts["edge_arrivals", edge_id]
    return {
        "id": edge_id,
        "travelling": counts["travelling", edge_id],
        "starts": starts,
        "arrivals": arrivals,
        "conversion": round(min(arrivals / starts, 1.0), 4) if starts else None,
    }


def _seconds(value: float | None) -> float | None:
    return round(float(value), 3) if value is not None else None


# --- funnel and series --------------------------------------------------------------------
# Both read arrivals only. `idx_journey_events_arrivals` is a partial index over
# (canvas_id, node_id, timestamp) INCLUDE (entity_id) WHERE event_type IN
# ('node_arrival', 'manual_move'): a fifth of the events in a typical history (the
# rest are starts, progress steps and completions), and every column the funnel reads,
# so a funnel reads only its steps' arrivals, index-only, never touching the heap.
ARRIVAL_TYPES = "('node_arrival', 'manual_move')"

# One row per entity that arrived at the first step inside [since, until): its arrivals
# at any step node, oldest first, as epoch seconds. Plan: Index Only Scan on
# idx_journey_events_arrivals with `node_id = ANY(steps)` in the index condition (it
# reads the steps' arrivals and nothing else), then a GroupAggregate per entity.
# The walk along the steps is done by `_walk` in Python, linear in each entity's
# arrivals. (A chain of one CTE per step joined to the previous one was tried first:
# the planner, with no statistics on CTE results, estimated one row per step and
# chose nested loops, 0.6 s for three steps and 3.2 s for ten on the bench.)
FUNNEL_SQL_ARRIVALS = f"""
SELECT array_agg(node_id ORDER BY "timestamp"),
       array_agg(extract(epoch FROM "timestamp")::float8 ORDER BY "timestamp")
FROM stitch_journey_events
WHERE canvas_id = %(canvas)s
  AND event_type IN {ARRIVAL_TYPES}
  AND node_id = ANY(%(nodes)s)
  {{window}}
GROUP BY entity_id
HAVING bool_or(node_id = %(first)s {{first_window}})
"""

# Arrivals per node per bucket. Plan (bench, 1M events): Index Only Scan on
# idx_journey_events_funnel with (canvas_id, event_type IN arrivals) as index condition
# (idx_journey_events_arrivals serves equally; the planner picks the cheaper), the window
# as a filter on the included timestamp, then a HashAggregate over (bucket, node): one
# pass over the canvas's arrivals, 200,000 rows in ~0.1 s.
SERIES_SQL = f"""
SELECT date_trunc(%(bucket)s, "timestamp", 'UTC') AS start, node_id, count(*)
FROM stitch_journey_events
WHERE canvas_id = %(canvas)s
  AND event_type IN {ARRIVAL_TYPES}
  {{window}}
GROUP BY 1, 2
"""

BUCKETS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
# A longer answer helps no chart: ask for a wider bucket or a shorter window.
MAX_BUCKETS = 10_000


def funnel_sql(*, since: bool, until: bool) -> str:
    window, first_window = [], []
    if since:
        window.append('AND "timestamp" >= %(since)s')
    if until:
        # Later steps may come up to `within` after a first step inside the window.
        window.append('AND "timestamp" < %(until)s + %(within)s')
        first_window.append('AND "timestamp" < %(until)s')
    return FUNNEL_SQL_ARRIVALS.format(
        window="\n  ".join(window), first_window=" ".join(first_window)
    )


def canvas_funnel(
    *,
    canvas: Flow,
    steps: list[str],
    within: timedelta,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Entities that reached `steps` in that order, each within `within` of the first.

    An entity's funnel starts at its first arrival at the first step inside the window;
    each later step is its first arrival at that node after the previous step, no more
    than `within` after the start (later steps may fall after `until`).
    """
    params = {
        "canvas": canvas.pk,
        "nodes": sorted(set(steps)),
        "first": steps[0],
        "within": within,
        "since": since,
        "until": until,
    }
    sql = funnel_sql(since=since is not None, until=until is not None)
    until_epoch = until.timestamp() if until else None
    gaps: list[list[float]] = [[] for _ in steps]  # per step: seconds from the previous
    for nodes, times in _rows(sql, params):
        walk = _walk(steps, nodes, times, until=until_epoch, within=within.total_seconds())
        for k, gap in enumerate(walk):
            gaps[k].append(gap)
    first = len(gaps[0])
    rows: list[dict[str, Any]] = []
    previous = first
    for node_id, reached in zip(steps, gaps, strict=True):
        rows.append(
            {
                "node_id": node_id,
                "entered": len(reached),
                "conversion_from_previous": _ratio(len(reached), previous),
                "conversion_from_first": _ratio(len(reached), first),
                # The first step has no previous one (its gaps are placeholders).
                "median_seconds_from_previous": (
                    _seconds(statistics.median(reached)) if reached and rows else None
                ),
            }
        )
        previous = len(reached)
    return {"steps": rows}


def _walk(
    steps: list[str], nodes: list[str], times: list[float], *, until: float | None, within: float
) -> Iterator[float]:
    """Seconds from the previous step for each step one entity reached, in order (0 for
    the first). `nodes`/`times` are its arrivals, oldest first, none before `since`."""
    arrivals = iter(zip(nodes, times, strict=True))
    for node_id, at in arrivals:
        if node_id == steps[0]:
            if until is not None and at >= until:
                return
            start = previous = at
            break
    else:
        return
    yield 0.0
    deadline = start + within
    for step in steps[1:]:
        for node_id, at in arrivals:
            if at > deadline:
                return
            if node_id == step and at > previous:
                yield at - previous
                previous = at
                break
        else:
            return


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def canvas_series(
    *,
    canvas: Flow,
    bucket: str,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Arrivals per node per `bucket` (UTC), every bucket from `since` (else the first
    arrival) to `until` (else now), nodes without arrivals left out of a bucket."""
    params = {"canvas": canvas.pk, "bucket": bucket, "since": since, "until": until}
    node_ids = set(canvas_graph_ids(canvas)[0])
    counts: dict[datetime, dict[str, int]] = defaultdict(dict)
    for start, node_id, count in _rows(SERIES_SQL.format(window=_window(since, until)), params):
        if node_id in node_ids:
            counts[start][node_id] = count
    if since is None and not counts:
        return {"buckets": []}
    first = bucket_start(since or min(counts), bucket)
    last = bucket_start(
        until - timedelta(microseconds=1) if until else now or timezone.now(), bucket
    )
    starts = bucket_starts(first, last, bucket)
    return {"buckets": [{"start": start, "nodes": counts.get(start, {})} for start in starts]}


def bucket_start(instant: datetime, bucket: str) -> datetime:
    """The UTC start of the bucket holding `instant`, as PostgreSQL's date_trunc puts it
    (weeks start on Monday)."""
    start = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return start
    start = start.replace(hour=0)
    return start - timedelta(days=start.weekday()) if bucket == "week" else start


def bucket_starts(first: datetime, last: datetime, bucket: str) -> list[datetime]:
    step = BUCKETS[bucket]
    count = (last - first) // step + 1 if last >= first else 0
    if count > MAX_BUCKETS:
        raise FieldError(
            "bucket",
            f"{count} {bucket} buckets is more than {MAX_BUCKETS}: "
            "choose a wider bucket or a shorter since/until window",
        )
    return [first + i * step for i in range(count)]
