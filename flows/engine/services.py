"""Run services (SPEC 4): every state change of a run is one transaction holding the
run row with `select_for_update`, so concurrent callbacks, retries and cancels of one
run apply one at a time while other runs proceed in parallel.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from entities.models import Entity
from flows import sql
from flows.engine.jobs import completion_defer
from flows.engine.plan import Plan, plan_for
from flows.engine.read import state, template_summaries
from flows.engine.state import ACTIVE, Step, callback_timeout, instance_id
from flows.models import CanvasType, Flow, NodeStatus, Run, RunNode, RunStatus, manual_trigger
from flows.workers import WorkerOutcome
from stitch import jsondata, observe
from stitch.errors import Conflict, FieldError, NotFound

logger = logging.getLogger(__name__)
LATE_CALLBACKS_KEPT = 20
# Runs whose callback timeouts one sweep applies (each in its own transaction).
EXPIRE_RUNS_PER_SWEEP = 200


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
    runnable(flow)
    assert flow.current_version_id is not None  # runnable()
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
        entry_step(run, plan).finish()
    return run


def runnable(flow: Flow) -> None:
    """FieldError naming `flow` unless runs of it can start."""
    if flow.canvas_type != CanvasType.WORKFLOW:
        raise FieldError("flow", f"flow {flow.pk} is a {flow.canvas_type} canvas, not a workflow")
    if flow.current_version_id is None:
        raise FieldError("flow", f"flow {flow.pk} has no saved version to run")


def entry_step(run: Run, plan: Plan) -> Step:
    """The step starting `run`, in memory: its node rows, with the entry nodes fired.

    `finish()` inserts the rows with the entries already fired (one INSERT, rather
    than an INSERT and then an UPDATE of every entry row); flows.bulk writes many such
    steps at once.
    """
    step = Step(run, plan)
    rows = [step.adopt(row) for row in initial_nodes(run, plan)]
    step.new_rows.extend(rows)
    step.start([row for row in rows if is_entry(plan, row)], run.input)
    return step


def initial_nodes(run: Run, plan: Plan) -> list[RunNode]:
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


def is_entry(plan: Plan, row: RunNode) -> bool:
    """Whether `row` fires when its run starts (no blockers, not a branch member)."""
    if row.blockers or row.node_id in plan.member_of:
        return False
    return row.kind != "collector" or plan.collector_splitter(row.node_id) is None


# --- locking helpers ------------------------------------------------------------------------
def _locked_run(run_id: Any) -> Run:
    # The run row lock: sibling callbacks, retries and cancels of one run serialise
    # here, so counters stay exact and a Collector fires exactly once. The input and the
    # snapshot are not read: either may hold a whole fan-out's data.
    try:
        run = sql.run_lock(uuid.UUID(str(run_id)))
    except ValueError as exc:
        raise RunNotFound(f"run {run_id} does not exist") from exc
    if run is None:
        raise RunNotFound(f"run {run_id} does not exist")
    return run


def _node(run: Run, node_id: str) -> RunNode:
    try:
        return RunNode.objects.get(run=run, node_id=node_id)
    except RunNode.DoesNotExist as exc:
        raise RunNotFound(f"node {node_id!r} is not part of run {run.pk}") from exc


def _is_template(plan: Plan, node: RunNode) -> bool:
    return node.index is None and node.template_id in plan.member_of


# --- outcomes of workers ------------------------------------------------------------------
@dataclass(frozen=True)
class CallbackResult:
    """What became of a worker's result: `applied`; `unchanged` (a repeat of what the
    node holds); `ignored` (run cancelled); `stale` (an earlier attempt's) or `conflict`
    (contradicts a finished node). The last three are recorded in the node's
    `late_callbacks`, never applied; `stale` and `conflict` are a 409 for a worker.
    `missing`: no such node in the run (`results_apply` only; 404)."""

    result: str
    detail: str = ""


def callback_apply(
    *,
    run_id: Any,
    node_id: str,
    status: str,
    output: Any = None,
    error: str | None = None,
    attempt: int | None = None,
) -> CallbackResult:
    """Apply a worker's result for `attempt` of the node (None: whatever attempt it is
    on). Raises RunNotFound."""
    result = Result(node_id=node_id, status=status, output=output, error=error, attempt=attempt)
    [applied] = results_apply(run_id=run_id, results=[result], missing_raises=True)
    return applied


@dataclass(frozen=True)
class Result:
    """One worker result for `results_apply`: a callback or a dispatch's outcome."""

    node_id: str
    status: str
    output: Any = None
    error: str | None = None
    attempt: int | None = None


def results_apply(
    *, run_id: Any, results: Sequence[Result], missing_raises: bool = False
) -> list[CallbackResult]:
    """Apply several results for nodes of one run in one transaction under one
    acquisition of the run lock, each judged on its own exactly as `callback_apply`
    would (in order: a later result sees what an earlier one changed). A node that is
    not part of the run is `missing`, or RunNotFound with `missing_raises`."""
    # No savepoint inside a caller's transaction (a dispatch job rewriting its own
    # row in the same commit): whatever fails here fails it all.
    with transaction.atomic(savepoint=False):
        run = _locked_run(run_id)
        plan = plan_for(run.flow_version_id)
        wanted = list(dict.fromkeys(r.node_id for r in results))
        step = Step(run, plan)
        # One query for every node of the batch and the rows completing them touches
        # (their Collector, their downstream nodes), by the unique (run_id, node_id) index.
        nearby = {n for node_id in wanted for n in _neighbours(plan, node_id)}
        for row in sql.nodes_of(run.pk, [*wanted, *nearby]):
            step.adopt(row)
        answers = []
        for result in results:
            node = step.rows.get(result.node_id)
            if node is None or node.pk is None:
                missing = f"node {result.node_id!r} is not part of run {run.pk}"
                if missing_raises:
                    raise RunNotFound(missing)
                answers.append(CallbackResult("missing", missing))
                continue
            answers.append(_judge(step, node, result))
        if any(answer.result == "applied" for answer in answers):
            step.finish()
    return answers


def _neighbours(plan: Plan, node_id: str) -> list[str]:
    """Rows a completion of `node_id` goes on to read: the Collector and the next nodes
    of its branch for an instance (`{template}_{index}`), else its downstream nodes."""
    template, _, index = node_id.rpartition("_")
    if template in plan.member_of and index.isdigit() and node_id not in plan.kinds:
        splitter = plan.member_of[template]
        inside = [instance_id(t, int(index)) for t in plan.targets(template) if t in plan.member_of]
        return [plan.collector_of(splitter), *inside]
    if node_id not in plan.kinds:
        return []
    return [t for t in plan.targets(node_id) if t not in plan.member_of]


def _judge(step: Step, node: RunNode, result: Result) -> CallbackResult:
    """What one result does to its node, under the run lock (see CallbackResult)."""
    run, attempt, status = step.run, result.attempt, result.status
    late = {"attempt": attempt, "status": status, "output": result.output, "error": result.error}
    # Checked under the run lock: a retry committing between a separate check and
    # this transaction would otherwise receive the previous attempt's result.
    if attempt is not None and node.attempts != attempt:
        _record_late(node, reason="earlier_attempt", **late)
        detail = (
            f"this result is for attempt {attempt}; node {node.node_id!r} is on {node.attempts}"
        )
        return CallbackResult("stale", detail)
    if _same_result(node, status=status, output=result.output, error=result.error):
        return CallbackResult("unchanged")
    if run.status == RunStatus.CANCELLED:
        _record_late(node, reason="run_cancelled", **late)
        return CallbackResult("ignored", "the run is cancelled")
    if node.status == NodeStatus.RUNNING and not _is_template(step.plan, node):
        if status == NodeStatus.COMPLETED:
            step.complete(node, result.output)
        else:
            step.fail(node, result.error or "worker reported a failure")
        return CallbackResult("applied")
    _record_late(node, reason="node_finished", **late)
    detail = f"node {node.node_id!r} is {node.status}; this result contradicts it"
    return CallbackResult("conflict", detail)


def _same_result(node: RunNode, *, status: str, output: Any, error: str | None) -> bool:
    if node.status != status:
        return False
    if status == NodeStatus.COMPLETED:
        return bool(node.output == output)
    return error is None or node.error == error


def _record_late(node: RunNode, *, reason: str, **callback: Any) -> None:
    entry = {"received_at": timezone.now().isoformat(), "reason": reason, **callback}
    node.late_callbacks = [*(node.late_callbacks or []), entry][-LATE_CALLBACKS_KEPT:]
    node.save(update_fields=["late_callbacks"])
    logger.info("callback for %s of run %s not applied: %s", node.node_id, node.run_id, reason)


def worker_outcome_apply(*, run_id: Any, node_id: str, attempt: int, outcome: WorkerOutcome) -> str:
    """Apply what a dispatch (synchronous reply, built-in worker, final error) found,
    unless the node moved on meanwhile (retried, timed out, cancelled). A result the
    database cannot store fails the node, saying why."""
    [result] = worker_outcomes_apply(run_id=run_id, outcomes=[(node_id, attempt, outcome)])
    return result


def worker_outcomes_apply(
    *, run_id: Any, outcomes: Sequence[tuple[str, int, WorkerOutcome]]
) -> list[str]:
    """`worker_outcome_apply` for several nodes of one run at once (a dispatch job's
    batch): one transaction, one acquisition of the run lock, each node judged on its
    own. Returns each one's result (`applied`, `stale`, ...)."""
    results = []
    for node_id, attempt, outcome in outcomes:
        storable = _storable(outcome)
        results.append(
            Result(
                node_id=node_id,
                status=storable.status,
                output=storable.output,
                error=storable.error,
                attempt=attempt,
            )
        )
    try:
        answers = results_apply(run_id=run_id, results=results)
    except RunNotFound as exc:
        logger.info("dispatch outcomes for run %s not applied: %s", run_id, exc)
        return ["stale"] * len(results)
    return ["stale" if a.result == "missing" else a.result for a in answers]


def _storable(outcome: WorkerOutcome) -> WorkerOutcome:
    """NUL characters, lone surrogates, NaN/infinite numbers (a worker's reply, a
    built-in worker's output) make PostgreSQL refuse the whole write."""
    problem = jsondata.problem(outcome.output, path="output")
    if problem is not None:
        return WorkerOutcome("failed", error=f"the worker's result cannot be stored: {problem}")
    if outcome.error is not None and jsondata.text_problem(outcome.error):
        return WorkerOutcome(outcome.status, outcome.output, storable_text(outcome.error))
    return outcome


def storable_text(text: str) -> str:
    """`text` with what PostgreSQL cannot store written out as escapes."""
    escaped = text.replace("\x00", "\\u0000")
    return escaped.encode("utf-8", "backslashreplace").decode("utf-8")


def completion_schedule(
    *, run_id: Any, node_id: str, attempt: int, seconds: float, output: Any
) -> bool:
    """A built-in worker that finishes later (`delay`): its completion job is deferred,
    and the node's callback deadline moved past the moment that job is due, so a delay
    longer than `callbackTimeoutSeconds` does not time out. False if the node moved on."""
    with transaction.atomic():
        run = _locked_run(run_id)
        node = (
            RunNode.objects.filter(run=run, node_id=node_id, attempts=attempt)
            .filter(status=NodeStatus.RUNNING)
            .first()
        )
        if node is None or run.status == RunStatus.CANCELLED:
            return False
        timeout = callback_timeout(plan_for(run.flow_version_id), node.template_id)
        due = timezone.now() + timedelta(seconds=seconds + timeout)
        if node.callback_deadline is None or node.callback_deadline < due:
            node.callback_deadline = due
            node.save(update_fields=["callback_deadline"])
        completion_defer(
            run_id=run_id, node_id=node_id, attempt=attempt, output=output, seconds=seconds
        )
    return True


# --- people and operators ---------------------------------------------------------------------
def ux_complete(*, run: Run, node_id: str, output: Any) -> Run:
    """A person finishes a UX node that waits for them. The run returned carries
    `changed_nodes`, the states this changed."""
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
    retries its failed instances. The run returned carries `changed_nodes`."""
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


_UNFINISHED = [NodeStatus.PENDING, *ACTIVE]


def run_cancel(*, run: Run) -> Run:
    """Stop a run: nodes not finished become `skipped` (each announced), template
    nodes report their summary; later callbacks are recorded and ignored. The run
    returned carries `changed_nodes`."""
    with transaction.atomic():
        locked = _locked_run(run.pk)
        if locked.status in (RunStatus.COMPLETED, RunStatus.CANCELLED):
            raise RunConflict(f"the run is already {locked.status}")
        plan = plan_for(locked.flow_version_id)
        step = Step(locked, plan)
        unfinished = RunNode.objects.filter(run=locked, status__in=_UNFINISHED)
        fields = ("node_id", "index", "output", "error", "attempts", "started_at")
        skipped = list(unfinished.values_list(*fields))
        unfinished.update(status=NodeStatus.SKIPPED, finished_at=step.now, callback_deadline=None)
        for node_id, index, output, error, attempts, started in skipped:
            if index is None and node_id in plan.member_of:
                continue  # a template: announced below with its summary
            step.notice(node_id, NodeStatus.SKIPPED)
            step.changed[node_id] = state(
                NodeStatus.SKIPPED, output, error, attempts, started, step.now
            )
        summaries = template_summaries(locked, plan.member_of)
        for template in plan.member_of:
            # No instances: the split never happened, or split an empty array.
            step.notice(template, summaries.get(template, NodeStatus.SKIPPED))
        locked.status = RunStatus.CANCELLED
        locked.running_count = locked.waiting_count = 0
        step.finish()
    return locked


# --- callback timeouts ------------------------------------------------------------------------
def callbacks_expire(*, now: datetime | None = None, limit: int = EXPIRE_RUNS_PER_SWEEP) -> int:
    """Fail running nodes whose callback deadline passed ("callback timed out"). Each
    run is its own transaction, and a run that cannot be updated is logged and left for
    the next sweep: it never stops the others."""
    now = now or timezone.now()
    due = RunNode.objects.filter(status=NodeStatus.RUNNING, callback_deadline__lt=now)
    run_ids = list(due.order_by("run_id").values_list("run_id", flat=True).distinct()[:limit])
    expired = 0
    for run_id in run_ids:
        try:
            expired += _expire_run_nodes(run_id=run_id, now=now)
        except Exception:
            logger.exception("callback timeouts of run %s could not be applied", run_id)
    return expired


def _expire_run_nodes(*, run_id: Any, now: datetime) -> int:
    with transaction.atomic():
        run = _locked_run(run_id)
        step = Step(run, plan_for(run.flow_version_id))
        # Read under the lock: a callback may have landed since the scan.
        nodes = RunNode.objects.filter(
            run=run, status=NodeStatus.RUNNING, callback_deadline__lt=now
        )
        count = 0
        for node in nodes:
            step.fail(step.adopt(node), "callback timed out")
            observe.node_timed_out(run_id=run_id, node_id=node.node_id)
            count += 1
        step.finish()
    return count
