"""Set-based run starts (issue 11): many runs of one workflow, one INSERT per table.

`runs_start` writes exactly what `flows.engine.run_start` writes for each start — the
run, its node rows with the entry nodes fired, the entry Workers' dispatch jobs, the
`run.updated` notices after commit — by driving the engine's own `Step` in memory and
writing what it produced in bulk (tests/webhooks/test_batch_processing.py compares
both paths' rows). A plan whose start could read the database (an entry Splitter or
Collector fires further nodes) goes through `run_start` one by one instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault

from entities.models import Entity
from flows.engine import run_start
from flows.engine.jobs import dispatch_defer
from flows.engine.plan import Plan, plan_for
from flows.engine.services import entry_step, initial_nodes, is_entry, runnable
from flows.engine.state import Step, run_status_of
from flows.models import Flow, Run, RunNode, RunStatus

# Entry nodes whose firing only sets fields of their own row (SPEC 4): a Worker waits
# for its callback, a UX node for a person. Anything else may fire downstream nodes.
_PURE_ENTRY_KINDS = frozenset({"worker", "ux"})


@dataclass(frozen=True)
class RunStart:
    entity: Entity | None
    trigger: dict[str, Any]
    input: Any


def _starts_in_memory(plan: Plan) -> bool:
    rows = initial_nodes(Run(), plan)
    entries = [row for row in rows if is_entry(plan, row)]
    # At least one pure entry: the run stays running or waiting, so starting it moves
    # no entity (a run completed at start would make its entity arrive).
    return bool(entries) and all(row.kind in _PURE_ENTRY_KINDS for row in entries)


def runs_start(*, flow: Flow, starts: Sequence[RunStart]) -> list[Run]:
    """Start one run of `flow` per start, inside the caller's transaction."""
    runnable(flow)
    plan = plan_for(flow.current_version_id)
    if not _starts_in_memory(plan):
        return [
            run_start(flow=flow, entity=s.entity, trigger=s.trigger, input=s.input) for s in starts
        ]
    steps = [_step(flow, plan, start) for start in starts]
    runs = [step.run for step in steps]
    rows_insert(Run, runs)
    rows_insert(RunNode, [row for step in steps for row in step.new_rows])
    dispatch_defer([node for step in steps for node in step.to_dispatch])
    for step in steps:
        step.new_rows, step.to_dispatch = [], []
        step.announce()
    return runs


def _step(flow: Flow, plan: Plan, start: RunStart) -> Step:
    """What `run_start` computes for one run, in memory (ids are made in Python)."""
    assert flow.current_version_id is not None  # runnable()
    run = Run(
        flow=flow,
        flow_version_id=flow.current_version_id,
        entity=start.entity,
        status=RunStatus.RUNNING,
        input={} if start.input is None else start.input,
        trigger=start.trigger,
        total_count=len(plan.executable),
    )
    step = entry_step(run, plan)
    run.status = run_status_of(run)
    run.finished_at = None
    return step


# --- bulk INSERT --------------------------------------------------------------------------

# One INSERT of many rows from one JSON document: jsonb_populate_recordset casts each
# value to its column's type (uuid, timestamptz, numeric, jsonb as is). Measured: Django's
# bulk_create sends one array per column, and psycopg's quoting of text arrays took
# ~17 % of a webhook batch's time (cProfile). No plan to speak of: a Function
# Scan feeding the insert.
_INSERT = (
    "INSERT INTO {table} ({columns}) SELECT {columns}"
    " FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb)"
)


def _plain(value: Any) -> Any:
    return str(value)  # UUID, datetime (ISO with offset), Decimal: PostgreSQL reads them


def rows_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """`model.objects.bulk_create(objs)` in one statement: the same values (defaults and
    auto_now fields set as bulk_create sets them) and no signals (bulk_create sends
    none), but serial keys are not read back (objs keep pk None)."""
    if not objs:
        return
    fields = list(model._meta.concrete_fields)
    pk = model._meta.pk
    if pk is not None and objs[0].pk is None:
        fields.remove(pk)  # a serial key: the database numbers the rows
    rows = []
    for obj in objs:
        row = {}
        for f in fields:
            value = f.pre_save(obj, add=True)
            if not isinstance(value, DatabaseDefault):
                row[f.column] = value
        rows.append(row)
        obj._state.adding, obj._state.db = False, connection.alias
    columns = ", ".join(connection.ops.quote_name(column) for column in rows[0])
    statement = _INSERT.format(
        table=connection.ops.quote_name(model._meta.db_table), columns=columns
    )
    document = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_plain)
    with connection.cursor() as cursor:
        cursor.execute(statement, [document])
