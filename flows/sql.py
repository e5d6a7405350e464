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


# --- reading under the run lock -----------------------------------------------------------
# A callback's own statements cost less than the ORM building them (bench/engine.py:
# 0.9 ms of CPU to compile and fetch the locked run, 1.6 ms for two node rows, against
# 0.03 ms for a raw round trip), so the hot reads are written out here and turned into
# model instances with `from_db` (the columns not read stay deferred, loaded if used).
def _columns(model: Any, leave_out: Sequence[str] = ()) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in leave_out]


def _loaded(model: Any, names: Sequence[str], row: Sequence[Any], json_names: set[str]) -> Any:
    # Django's psycopg setup reads jsonb as text (JSONField decodes it): so do we.
    values = [
        json.loads(v) if name in json_names and isinstance(v, str) else v
        for name, v in zip(names, row, strict=True)
    ]
    return model.from_db(connection.alias, list(names), values)


def run_lock(run_id: Any) -> Any:
    """The run row, locked (`FOR UPDATE`), without `input` and `node_states` (either may
    hold a whole fan-out's data); None if there is no such run.

    Plan: Index Scan using stitch_runs_pkey on stitch_runs (id = $1), LockRows."""
    from flows.models import Run

    names = _columns(Run, ("input", "node_states"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM stitch_runs WHERE id = %s FOR UPDATE", [run_id]
        )
        row = cursor.fetchone()
    return None if row is None else _loaded(Run, names, row, {"trigger"})


def nodes_of(run_id: Any, node_ids: Sequence[str]) -> list[Any]:
    """The node rows of a run named by `node_ids` (missing ones left out).

    Plan: Index Scan using uniq_run_node on stitch_run_nodes (run_id = $1 AND node_id =
    ANY($2)): one probe per name, whatever the size of the run."""
    from flows.models import RunNode

    names = _columns(RunNode)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM stitch_run_nodes"
            " WHERE run_id = %s AND node_id = ANY(%s)",
            [run_id, list(node_ids)],
        )
        rows = cursor.fetchall()
    json_names = {"input", "output", "late_callbacks"}
    return [_loaded(RunNode, names, row, json_names) for row in rows]


def run_counters_update(run: Any) -> None:
    """Write what a step changes on the run row: status, counters, finished_at (and
    updated_at, as `auto_now` would).

    Plan: Index Scan using stitch_runs_pkey on stitch_runs (id = $1); no indexed column
    changes except `status` (idx on status) when it does."""
    from django.utils import timezone

    run.updated_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE stitch_runs SET status = %s, running_count = %s, waiting_count = %s,"
            " failed_count = %s, done_count = %s, finished_at = %s, updated_at = %s"
            " WHERE id = %s",
            [
                run.status,
                run.running_count,
                run.waiting_count,
                run.failed_count,
                run.done_count,
                run.finished_at,
                run.updated_at,
                run.pk,
            ],
        )


# Every column of a new node row but its id (made by the sequence).
_INSERTED = (
    "run_id",
    "node_id",
    "template_id",
    "index",
    "kind",
    "status",
    "blockers",
    "branch_active",
    "branch_failed",
    "input",
    "output",
    "error",
    "attempts",
    "started_at",
    "finished_at",
    "callback_deadline",
    "late_callbacks",
)
_NODES_INSERT = (
    f"INSERT INTO stitch_run_nodes ({', '.join(_INSERTED)})"
    f" SELECT {', '.join(_INSERTED)}"
    " FROM jsonb_populate_recordset(NULL::stitch_run_nodes, %s::jsonb) RETURNING id"
)


def _json_default(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())  # timestamptz reads ISO 8601
    return str(value)  # the run's UUID


def nodes_insert(nodes: Sequence[Any]) -> None:
    """Insert new node rows (a split's instances, a run's first rows) from one JSON
    document, and give each its id. `bulk_create` prepares every value of every row
    in Python (0.4 ms of CPU a row for a 1,000-way split on this machine); here
    json.dumps does it in C. JSON null becomes SQL NULL, as the ORM writes None.

    Plan: Insert on stitch_run_nodes <- Function Scan on jsonb_populate_recordset; the
    ids come back in the order of the document."""
    rows = [{name: getattr(node, name) for name in _INSERTED} for node in nodes]
    with connection.cursor() as cursor:
        cursor.execute(_NODES_INSERT, [json.dumps(rows, default=_json_default)])
        ids = [row[0] for row in cursor.fetchall()]
    for node, pk in zip(nodes, ids, strict=True):
        node.pk = pk
        node._state.adding = False
        node._state.db = connection.alias
