"""The engine's hand-written SQL (hot paths only), each statement with the plan it
relies on (EXPLAIN on PostgreSQL 15)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection


def dispatch_job_narrow(*, job_id: int, nodes: Sequence[Sequence[Any]]) -> None:
    """Leave only `nodes` in a dispatch job's arguments: the nodes of its batch whose
    dispatch is retried. Written in the transaction that applies the others, so a
    retry of the job (or of a job left by a killed worker) dispatches those alone.

    Plan: Index Scan using procrastinate_jobs_pkey (one row); `args` is not indexed, so
    the update is HOT-eligible."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{nodes}', %s::jsonb)"
            " WHERE id = %s",
            [json.dumps([list(n) for n in nodes]), job_id],
        )


# The columns a step changes on node rows it holds (never run, node, template, index,
# kind; late callbacks are written on their own).
_NODE_COLUMNS = (
    ("status", "text"),
    ("blockers", "int"),
    ("branch_active", "int"),
    ("branch_failed", "int"),
    ("input", "jsonb"),
    ("output", "jsonb"),
    ("error", "text"),
    ("attempts", "int"),
    ("started_at", "timestamptz"),
    ("finished_at", "timestamptz"),
    ("callback_deadline", "timestamptz"),
)
_JSONB = {name for name, kind in _NODE_COLUMNS if kind == "jsonb"}
_NODES_UPDATE = (
    "UPDATE stitch_run_nodes AS n SET "
    + ", ".join(
        f"{name} = v.{name}::jsonb" if name in _JSONB else f"{name} = v.{name}"
        for name, _ in _NODE_COLUMNS
    )
    + " FROM unnest(%s::bigint[], "
    + ", ".join(f"%s::{'text' if kind == 'jsonb' else kind}[]" for _, kind in _NODE_COLUMNS)
    + ") AS v(id, "
    + ", ".join(name for name, _ in _NODE_COLUMNS)
    + ") WHERE n.id = v.id"
)


def _json_text(value: Any) -> str | None:
    # JSONField(null=True): None is SQL NULL, as the ORM writes it.
    return None if value is None else json.dumps(value)


def nodes_update(nodes: Sequence[Any]) -> None:
    """Write the rows a step changed in one statement, instead of one UPDATE per row
    (a batch of 50 sibling completions was 51 round trips, 100 ms of a 130 ms step).

    Plan: Update on stitch_run_nodes -> Nested Loop -> Function Scan on unnest v,
    Index Scan using stitch_run_nodes_pkey on n (id = v.id): one index probe per row,
    whatever the size of the run."""
    columns: list[list[Any]] = [[node.pk for node in nodes]]
    for name, _kind in _NODE_COLUMNS:
        values = [getattr(node, name) for node in nodes]
        columns.append([_json_text(v) for v in values] if name in _JSONB else values)
    with connection.cursor() as cursor:
        cursor.execute(_NODES_UPDATE, columns)
