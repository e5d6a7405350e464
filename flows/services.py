"""Writes to flows and their versions, and the bulk retry of failed runs. The state
of a run lives in flows.engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from entities.services import entity_cascade_announce
from flows import engine
from flows.graph import GraphInvalid, GraphProblem, compile_plan, validate_graph
from flows.models import CanvasType, Flow, FlowVersion, NodeStatus, Run, RunNode, RunStatus
from flows.workers import worker_types
from stitch import recovery
from stitch.errors import FieldError
from stitch.models import User


def graph_problems(
    *,
    graph: Any,
    canvas_type: str,
    flow: Flow | None = None,
    links: bool = True,
) -> list[GraphProblem]:
    """Every problem of `graph` for that canvas type: the pure checks of flows.graph,
    then (`links`) the drill-down links, which need the database (`flow` None: a canvas
    not saved yet, which has no children). The editor's validate endpoint and every
    save call this, so a graph the editor shows as clean is one the save accepts."""
    problems = validate_graph(graph, canvas_type=canvas_type, worker_types=worker_types())
    if links:
        problems += child_link_problems(graph=graph, flow=flow)
    return problems


def graph_check(
    *,
    graph: Any,
    canvas_type: str,
    flow: Flow | None = None,
    links: bool = True,
) -> None:
    """Raise GraphInvalid listing every problem of `graph` for that canvas type."""
    problems = graph_problems(graph=graph, canvas_type=canvas_type, flow=flow, links=links)
    if problems:
        raise GraphInvalid(problems)


def _child_links(graph: Any) -> list[tuple[str, Any]]:
    """(node id, data.childFlowId) of every node that names a child; null or "" is no link."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    links = []
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, dict) else None
        value = data.get("childFlowId") if isinstance(data, dict) else None
        if value is not None and value != "" and isinstance(node.get("id"), str):
            links.append((node["id"], value))
    return links


def as_flow_id(value: Any) -> uuid.UUID | None:
    """`value` as a flow id, or None when it is not a UUID string."""
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def child_link_problems(*, graph: Any, flow: Flow | None) -> list[GraphProblem]:
    """SPEC 3: `data.childFlowId` names a flow of the same owner whose parent is this
    canvas (`flow` None: a canvas not saved yet, which has no children). One query for
    the whole graph, whatever the number of links."""
    links = _child_links(graph)
    if not links:
        return []
    wanted = {fid for _, value in links if (fid := as_flow_id(value)) is not None}
    children: set[uuid.UUID] = set()
    if flow is not None and not flow._state.adding and wanted:
        found = Flow.objects.filter(pk__in=wanted, parent_id=flow.pk, owner_id=flow.owner_id)
        children = set(found.values_list("pk", flat=True))
    problems = []
    for node_id, value in links:
        flow_id = as_flow_id(value)
        if flow_id is None:
            message = f"childFlowId must be the id of a flow, got {repr(value)[:60]}"
        elif flow_id not in children:
            message = f"childFlowId {value} is not a child canvas of this canvas"
        else:
            continue
        problems.append(GraphProblem(message, node_id=node_id))
    return problems


def _version_create(*, flow: Flow) -> FlowVersion:
    last = flow.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = FlowVersion.objects.create(
        flow=flow, number=last + 1, graph=flow.graph, plan=compile_plan(flow.graph)
    )
    flow.current_version = version
    flow.save(update_fields=["current_version", "updated_at"])
    return version


@transaction.atomic
def flow_create(
    *,
    owner: User,
    name: str,
    graph: dict[str, Any],
    canvas_type: str = CanvasType.WORKFLOW,
    parent: Flow | None = None,
) -> Flow:
    # A canvas being created has no children yet, so any childFlowId is refused.
    graph_check(graph=graph, canvas_type=canvas_type)
    flow = Flow.objects.create(
        owner=owner, name=name, graph=graph, canvas_type=canvas_type, parent=parent
    )
    if canvas_type == CanvasType.WORKFLOW:
        _version_create(flow=flow)
    return flow


@transaction.atomic
def flow_update(*, flow: Flow, **changes: Any) -> Flow:
    """Apply `changes` (name, graph, canvas_type, parent); a changed workflow graph
    gets a new immutable version, so runs already going keep the one they started on."""
    # Lock the flow: two concurrent saves must not both take the same version number.
    locked = Flow.objects.select_for_update().get(pk=flow.pk)
    stored = (locked.graph, locked.owner_id)
    for name, value in changes.items():
        setattr(locked, name, value)
    # Drill-down links are checked when the graph (or owner) changes: a rename must
    # not be refused because a child was deleted since (the editor marks that link).
    graph_check(
        graph=locked.graph,
        canvas_type=locked.canvas_type,
        flow=locked,
        links=(locked.graph, locked.owner_id) != stored,
    )
    locked.save()
    is_workflow = locked.canvas_type == CanvasType.WORKFLOW
    current = locked.current_version
    if is_workflow and (current is None or current.graph != locked.graph):
        _version_create(flow=locked)
    return locked


@transaction.atomic
def flow_delete(*, flow: Flow) -> None:
    """Delete a canvas with its versions, runs and entities; child canvases are kept
    (their parent becomes empty)."""
    # Lock the flow: a run or version created concurrently for it waits on this row
    # (its foreign-key check) and then fails, instead of being left without a flow.
    locked = Flow.objects.select_for_update().get(pk=flow.pk)
    entity_cascade_announce(canvas_id=locked.pk)
    locked.delete()


def parent_check(*, flow: Flow | None, parent: Flow | None) -> None:
    """Refuse a parent that would put `flow` below itself (FieldError on parent_id)."""
    current, seen = parent, set()
    while current is not None and flow is not None and current.pk not in seen:
        if current.pk == flow.pk:
            raise FieldError("parent_id", "a flow cannot be its own ancestor")
        seen.add(current.pk)
        current = current.parent


# --- bulk retry of failed runs (SPEC 13) ------------------------------------------------
@dataclass(frozen=True)
class RetryCount:
    runs: int
    nodes: int


def runs_retry_failed(*, actor: User, runs: QuerySet[Run], request_key: str) -> RetryCount:
    """Retry every failed node of every failed run of `runs` through the engine's
    `node_retry`, each run at most once per (actor, request_key) within
    BULK_IDEMPOTENCY_SECONDS (`stitch.recovery`). One transaction per run."""
    recovery.marks_prune()
    failed = runs.filter(status=RunStatus.FAILED)
    retried = RetryCount(0, 0)
    for run_id in list(failed.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            # The run row lock the engine takes for every change of a run, with the
            # filter applied again: a run retried (or cancelled) since it was listed is
            # no longer failed and is left alone.
            run = failed.filter(pk=run_id).select_for_update(of=("self",)).first()
            if run is None or not recovery.marks_claim(
                kind=recovery.RETRY, actor=actor, key=request_key, target_ids=[run_id]
            ):
                continue
            nodes = _failed_nodes_retry(run)
        if nodes:
            retried = RetryCount(retried.runs + 1, retried.nodes + nodes)
    return retried


def _failed_nodes_retry(run: Run) -> int:
    # Instances first: re-firing them also reopens the Collector they failed, which is
    # then no longer failed and is skipped.
    failed = RunNode.objects.filter(run=run, status=NodeStatus.FAILED).order_by("index", "pk")
    retried = 0
    for node_id in list(failed.values_list("node_id", flat=True)):
        try:
            engine.node_retry(run=run, node_id=node_id)
        except engine.RunConflict:
            continue  # re-fired already through its Collector
        retried += 1
    return retried
