"""What the run view shows (reads only): the pinned graph coloured by node status,
Splitter instances as counts, one node's details, pages of instances.

Cost does not grow with the fan-out beyond one grouped count: graph nodes are read
one row each, instances only as `count(*) GROUP BY template_id, status` (served by
idx_run_nodes_template) or one page at a time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count

from entities.picture import canvas_picture
from flows import engine
from flows.engine.plan import Plan, plan_for
from flows.models import Flow, NodeStatus, Run, RunNode, RunStatus

INSTANCE_PAGE_SIZE = 100
# Breakdowns list statuses in this order ("812 completed, 3 failed, 185 running").
STATUS_ORDER = [
    NodeStatus.COMPLETED,
    NodeStatus.FAILED,
    NodeStatus.RUNNING,
    NodeStatus.WAITING_FOR_USER,
    NodeStatus.PENDING,
    NodeStatus.SKIPPED,
]
SETTLED = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}


def summary_status(counts: dict[str, int]) -> str:
    """A template node's status from its instances' counts (the engine's SPEC 4 rule)."""
    return engine.summary(status for status, n in counts.items() if n)


def breakdown(counts: dict[str, int]) -> str:
    """`812 completed, 3 failed, 185 running`."""
    known = [s for s in STATUS_ORDER if counts.get(s)]
    others = sorted(s for s in counts if s not in STATUS_ORDER and counts[s])
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in known + others)


def instance_counts(run: Run) -> dict[str, dict[str, int]]:
    """{template id: {status: n}} over the run's Splitter instances."""
    rows = (
        RunNode.objects.filter(run=run, index__isnull=False)
        .values_list("template_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for template_id, status, n in rows:
        counts[template_id][status] = n
    return dict(counts)


def run_state(run: Run) -> dict[str, Any]:
    """What the page script needs to colour the graph: JSON-ready."""
    counts = instance_counts(run)
    nodes = dict(
        RunNode.objects.filter(run=run, index__isnull=True).values_list("node_id", "status")
    )
    for template_id, by_status in counts.items():
        nodes[template_id] = summary_status(by_status)
    return {
        "run_id": str(run.pk),
        "status": run.status,
        "settled": run.status in SETTLED,
        "nodes": nodes,
        "instances": {
            template_id: {"counts": by_status, "text": breakdown(by_status)}
            for template_id, by_status in counts.items()
        },
    }


def run_picture(run: Run) -> dict[str, Any]:
    """The pinned version's graph drawn with the canvas geometry (entities.picture):
    a copy of the flow carrying the version's graph, never saved."""
    version_graph = Flow(
        pk=run.flow_id,
        name=run.flow.name,
        canvas_type=run.flow.canvas_type,
        graph=run.flow_version.graph,
        owner_id=run.flow.owner_id,
    )
    return canvas_picture(version_graph)


@dataclass
class NodeDetail:
    node_id: str
    label: str
    type: str
    kind: str
    row: RunNode | None
    data: dict[str, Any]
    template_id: str | None = None  # for an instance
    counts: dict[str, int] = field(default_factory=dict)  # for a template

    @property
    def status(self) -> str:
        if self.counts:
            return summary_status(self.counts)
        return self.row.status if self.row else "not run"

    @property
    def is_template(self) -> bool:
        return bool(self.counts)

    @property
    def breakdown(self) -> str:
        return breakdown(self.counts)

    @property
    def instance_total(self) -> int:
        return sum(self.counts.values())

    @property
    def failed_instances(self) -> int:
        return self.counts.get(NodeStatus.FAILED, 0)

    @property
    def can_retry(self) -> bool:
        return self.status == NodeStatus.FAILED

    @property
    def can_complete(self) -> bool:
        row = self.row
        return row is not None and row.status == NodeStatus.WAITING_FOR_USER and not self.counts

    @property
    def fields(self) -> Any:
        return self.data.get("fields")


def node_detail(run: Run, node_id: str) -> NodeDetail | None:
    """A graph node or an instance of the run; None if the run has no such node."""
    plan = plan_for(run.flow_version_id)
    row = RunNode.objects.filter(run=run, node_id=node_id).first()
    template_id = row.template_id if row is not None else node_id
    if template_id not in plan.nodes:
        return None
    detail = _describe(plan, template_id, node_id, row)
    if row is None or row.index is None:
        detail.counts = instance_counts_of(run, template_id)
    return detail


def _describe(plan: Plan, template_id: str, node_id: str, row: RunNode | None) -> NodeDetail:
    node, data = plan.nodes[template_id], plan.data(template_id)
    label = str(data.get("label") or template_id)
    if row is not None and row.index is not None:
        label = f"{label} #{row.index}"
    return NodeDetail(
        node_id=node_id,
        label=label,
        type=str(node.get("type") or ""),
        kind=plan.kinds.get(template_id, "canvas"),
        row=row,
        data=data,
        template_id=template_id if node_id != template_id else None,
    )


def instance_counts_of(run: Run, template_id: str) -> dict[str, int]:
    rows = (
        RunNode.objects.filter(run=run, template_id=template_id, index__isnull=False)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def instance_page(run: Run, template_id: str, *, status: str | None, number: Any) -> Page[Any]:
    """One page of a template's instances in index order (no inputs/outputs: the
    list stays light at 1,000 instances; select one to see them)."""
    rows = RunNode.objects.filter(run=run, template_id=template_id, index__isnull=False)
    if status:
        rows = rows.filter(status=status)
    rows = rows.only(
        "node_id", "index", "status", "attempts", "error", "started_at", "finished_at"
    ).order_by("index")
    return Paginator(rows, INSTANCE_PAGE_SIZE).get_page(number)
