"""Run services (SPEC 4): every state change of a run is one transaction holding the
run row with `select_for_update`, so concurrent callbacks, retries and cancels of one
run apply one at a time while other runs proceed in parallel.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from entities.models import Entity
from flows.engine.plan import Plan, plan_for
from flows.engine.state import Step
from flows.models import CanvasType, Flow, NodeStatus, Run, RunNode, RunStatus, manual_trigger
from flows.workers import WorkerOutcome
from stitch import observe
from stitch.errors import Conflict, FieldError, NotFound

logger = logging.getLogger(__name__)
LATE_CALLBACKS_KEPT = 20


class RunNotFound(NotFound):
    """Unknown run or node (404)."""


class RunConflict(Conflict):
    """The request contradicts the run's current state (409)."""


# --- starting -------------------------------------------------------------------------
def run_start(
    *,
    flow: Flow,
    input: Any = None,
    entity: Entity | None = None,
    trigger: dict[str, Any] | None = None,
) -> Run:
    """Create a run on the flow's current version and fire its entry nodes.

    Usable inside an outer transaction: the dispatch jobs are deferred on Django's
    connection, so they commit (or vanish) with it.
    """
    if flow.canvas_type != CanvasType.WORKFLOW:
        raise FieldError("flow", f"flow {flow.pk} is a {flow.canvas_type} canvas, not a workflow")
    if flow.current_version_id is None:
        raise FieldError("flow", f"flow {flow.pk} has no saved version to run")
    # No savepoint inside a caller's transaction: whatever fails here fails the caller
    # (webhook processing rolls back the whole event), so a savepoint would only cost
    # two round trips. Called on its own, this is still one transaction.
    with transaction.atomic(savepoint=False):
        plan = plan_for(flow.current_version_id)
        run = Run.objects.create(
            flow=flow,
            flow_version_id=flow.current_version_id,
            entity=entity,
            status=RunStatus.RUNNING,
            input={} if input is None else input,
            trigger=trigger or manual_trigger(),
            total_count=len(plan.executable),
        )
        # No lock needed: no other transaction can see this run before we commit.
        step = Step(run, plan)
        # The node rows are inserted by `finish()` with the entry nodes already fired:
        # one INSERT, rather than an INSERT and then an UPDATE of every entry row.
        rows = [step.adopt(row) for row in _initial_rows(run, plan)]
        step.new_rows.extend(rows)
        step.start([row for row in rows if _is_entry(plan, row)], run.input)
        step.finish()
    return run


def _initial_rows(run: Run, plan: Plan) -> list[RunNode]:
    rows = []
    for node_id in plan.executable:
        sources = plan.sources(node_id)
        if plan.kinds[node_id] == "collector":
            # Branch instances are added to the count when the Splitter fires.
            sources = [s for s in sources if s not in plan.member_of]
        rows.append(
            RunNode(
                run=run,
                node_id=node_id,
                template_id=node_id,
                kind=plan.kinds[node_id],
                blockers=len(sources),
            )
        )
    return rows


def _is_entry(plan: Plan, row: RunNode) -> bool:
    if row.blockers or row.node_id in plan.member_of:
        return False
    return row.kind != "collector" or plan.collector_splitter(row.node_id) is None


# --- locking helpers ------------------------------------------------------------------------
def _locked_run(run_id: Any) -> Run:
    # The run row lock: sibling callbacks, retries and cancels of one run serialise
    # here, so counters stay exact and a Collector fires exactly once.
    try:
        return Run.objects.select_for_update().defer("node_states").get(pk=run_id)
    except (Run.DoesNotExist, ValueError) as exc:
        raise RunNotFound(f"run {run_id} does not exist") from exc


def _node(run: Run, node_id: str) -> RunNode:
    try:
        return RunNode.objects.get(run=run, node_id=node_id)
    except RunNode.DoesNotExist as exc:
        raise RunNotFound(f"node {node_id!r} is not part of run {run.pk}") from exc


def _is_template(plan: Plan, node: RunNode) -> bool:
    return node.index is None and node.template_id in plan.member_of


# --- outcomes of workers ------------------------------------------------------------------
def callback_apply(
    *,
    run_id: Any,
    node_id: str,
    status: str,
    output: Any = None,
    error: str | None = None,
    attempt: int | None = None,
) -> str:
    """Apply a worker's result. Returns "applied", "unchanged" (a repeat of what the node
    already holds), "ignored" (run cancelled: recorded, not applied) or "stale" (an
    `attempt` was given and the node has been fired again since); raises RunNotFound or
    RunConflict (a contradicting or premature result)."""
    with transaction.atomic():
        run = _locked_run(run_id)
        node = _node(run, node_id)
        # Checked under the run lock: a retry committing between a separate check and
        # this transaction would otherwise receive the previous attempt's result.
        if attempt is not None and node.attempts != attempt:
            return "stale"
        plan = plan_for(run.flow_version_id)
        if run.status == RunStatus.CANCELLED:
            _record_late(node, status=status, output=output, error=error)
            return "ignored"
        if node.status == NodeStatus.RUNNING and not _is_template(plan, node):
            step = Step(run, plan)
            node = step.adopt(node)
            if status == NodeStatus.COMPLETED:
                step.complete(node, output)
            else:
                step.fail(node, error or "worker reported a failure")
            step.finish()
            return "applied"
        if _same_result(node, status=status, output=output, error=error):
            return "unchanged"
        raise RunConflict(f"node {node_id!r} is {node.status}; this result contradicts it")


def _same_result(node: RunNode, *, status: str, output: Any, error: str | None) -> bool:
    if node.status != status:
        return False
    if status == NodeStatus.COMPLETED:
        return bool(node.output == output)
    return error is None or node.error == error


def _record_late(node: RunNode, *, status: str, output: Any, error: str | None) -> None:
    entry = {
        "received_at": timezone.now().isoformat(),
        "status": status,
        "output": output,
        "error": error,
    }
    node.late_callbacks = [*(node.late_callbacks or []), entry][-LATE_CALLBACKS_KEPT:]
    node.save(update_fields=["late_callbacks"])
    logger.info("late callback for %s of cancelled run %s ignored", node.node_id, node.run_id)


def worker_outcome_apply(*, run_id: Any, node_id: str, attempt: int, outcome: WorkerOutcome) -> str:
    """Apply what a dispatch (synchronous reply, built-in worker, final error) found,
    unless the node moved on meanwhile (retried, timed out, cancelled)."""
    try:
        return callback_apply(
            run_id=run_id,
            node_id=node_id,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            attempt=attempt,
        )
    except (RunConflict, RunNotFound) as exc:
        logger.info("dispatch outcome for %s/%s not applied: %s", run_id, node_id, exc)
        return "stale"


# --- people and operators ---------------------------------------------------------------------
def ux_complete(*, run: Run, node_id: str, output: Any) -> Run:
    """A person finishes a UX node that waits for them."""
    with transaction.atomic():
        locked = _locked_run(run.pk)
        node = _node(locked, node_id)
        if node.status != NodeStatus.WAITING_FOR_USER:
            raise RunConflict(f"node {node_id!r} is {node.status}, not waiting_for_user")
        step = Step(locked, plan_for(locked.flow_version_id))
        step.complete(step.adopt(node), output)
        step.finish()
    return locked


def node_retry(*, run: Run, node_id: str) -> Run:
    """Re-fire a failed node with its input. A template node (or a failed Collector)
    retries its failed instances."""
    with transaction.atomic():
        locked = _locked_run(run.pk)
        if locked.status == RunStatus.CANCELLED:
            raise RunConflict("the run is cancelled")
        node = _node(locked, node_id)
        plan = plan_for(locked.flow_version_id)
        step = Step(locked, plan)
        failed = _failed_targets(step, node)
        if not failed:
            raise RunConflict(f"node {node_id!r} is {node.status}; only failed nodes are retried")
        for target in failed:
            step.refire(step.adopt(target))
        step.finish()
    return locked


def _failed_targets(step: Step, node: RunNode) -> list[RunNode]:
    plan = step.plan
    splitter = plan.collector_splitter(node.template_id) if node.kind == "collector" else None
    if _is_template(plan, node):
        templates = [node.template_id]
    elif splitter is not None and node.status == NodeStatus.FAILED:
        templates = plan.members(splitter)
    else:
        return [node] if node.status == NodeStatus.FAILED else []
    return list(
        RunNode.objects.filter(
            run=step.run, template_id__in=templates, status=NodeStatus.FAILED
        ).exclude(index=None)
    )


def run_cancel(*, run: Run) -> Run:
    """Stop a run: nodes not finished become `skipped`; later callbacks are recorded
    and ignored."""
    with transaction.atomic():
        locked = _locked_run(run.pk)
        if locked.status in (RunStatus.COMPLETED, RunStatus.CANCELLED):
            raise RunConflict(f"the run is already {locked.status}")
        step = Step(locked, plan_for(locked.flow_version_id))
        RunNode.objects.filter(
            run=locked,
            status__in=[NodeStatus.PENDING, NodeStatus.RUNNING, NodeStatus.WAITING_FOR_USER],
        ).update(status=NodeStatus.SKIPPED, finished_at=step.now, callback_deadline=None)
        locked.status = RunStatus.CANCELLED
        locked.running_count = locked.waiting_count = 0
        step.finish()
    return locked


# --- callback timeouts ------------------------------------------------------------------------
def callbacks_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """Fail running nodes whose callback deadline passed ("callback timed out")."""
    now = now or timezone.now()
    due = RunNode.objects.filter(status=NodeStatus.RUNNING, callback_deadline__lt=now)
    by_run: dict[Any, list[str]] = defaultdict(list)
    for run_id, node_id in due.values_list("run_id", "node_id")[:limit]:
        by_run[run_id].append(node_id)
    expired = 0
    for run_id, node_ids in by_run.items():
        expired += _expire_run_nodes(run_id=run_id, node_ids=node_ids, now=now)
    return expired


def _expire_run_nodes(*, run_id: Any, node_ids: list[str], now: datetime) -> int:
    with transaction.atomic():
        run = _locked_run(run_id)
        step = Step(run, plan_for(run.flow_version_id))
        # Re-read under the lock: a callback may have landed since the scan.
        nodes = RunNode.objects.filter(
            run=run, node_id__in=node_ids, status=NodeStatus.RUNNING, callback_deadline__lt=now
        )
        count = 0
        for node in nodes:
            step.fail(step.adopt(node), "callback timed out")
            observe.node_timed_out(run_id=run_id, node_id=node.node_id)
            count += 1
        step.finish()
    return count
