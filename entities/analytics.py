"""Journey analytics of one canvas (SPEC section 6).

Three grouped queries, each served by an index chosen for it (see entities.models):
- the funnel counts (starts, arrivals, completions) read only
  `idx_journey_events_funnel` (canvas_id, event_type, edge_id, node_id) INCLUDE
  (timestamp): an index-only scan over the canvas's events, no join to entities;
- median time in node reads the partial index `idx_journey_events_node_time` over the
  events that left a node, which carry the seconds spent there (written by the movement
  service), instead of a window over every entity's history;
- "now here / travelling now" count current positions through
  `idx_entities_canvas_position`.
Time windows (`since`, `until`) apply to events; current positions are always "now".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection

from entities.services import canvas_graph_ids
from flows.models import Flow

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
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_in_previous_node)
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
    medians = dict(_rows(MEDIAN_SQL.format(window=window), params))

    node_ids, edges = canvas_graph_ids(canvas)
    nodes = [
        {
            "id": node_id,
            "current": counts["current", node_id],
            "arrivals": counts["arrivals", node_id],
            "completions": counts["completions", node_id],
            "median_seconds": _seconds(medians.get(node_id)),
        }
        for node_id in node_ids
    ]
    return {"nodes": nodes, "edges": [_edge_row(edge_id, counts) for edge_id in edges]}


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
