from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from stitch.models import TimestampedModel


def empty_graph() -> dict:
    return {"nodes": [], "edges": []}


def manual_trigger() -> dict:
    return {"type": "manual", "source": None, "event_id": None}


class CanvasType(models.TextChoices):
    BMC = "bmc", "Business Model Canvas"
    WORKFLOW = "workflow", "Workflow"
    DETAIL = "detail", "Detail"


class Flow(TimestampedModel):
    """A canvas: a BMC, an executable workflow, or a detail view."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flows"
    )
    name = models.TextField()
    graph = models.JSONField(default=empty_graph)
    canvas_type = models.TextField(
        choices=CanvasType.choices, default=CanvasType.WORKFLOW, db_default=CanvasType.WORKFLOW
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    current_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "stitch_flows"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["canvas_type"], name="idx_stitch_flows_canvas_type"),
            models.Index(fields=["parent"], name="idx_stitch_flows_parent_id"),
            models.Index(fields=["owner", "-created_at"], name="idx_stitch_flows_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.canvas_type})"


class FlowVersion(TimestampedModel):
    """Immutable snapshot of a workflow graph; runs are pinned to one."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    plan = models.JSONField(default=dict)

    class Meta:
        db_table = "stitch_flow_versions"
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="uniq_flow_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.number}"


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Run(TimestampedModel):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    # Versions only go away with their flow, and its runs go with it.
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.CASCADE, related_name="runs")
    entity = models.ForeignKey(
        "entities.Entity", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.TextField(
        choices=RunStatus.choices, default=RunStatus.PENDING, db_default=RunStatus.PENDING
    )
    input = models.JSONField(default=dict, blank=True)
    # Seed column. Live node state is one stitch_run_nodes row per node (RunNode), so a
    # callback never rewrites a JSONB that grows with the fan-out; this column holds a
    # snapshot in the seed's shape, written when the run settles (completed, failed,
    # cancelled). The API always builds `node_states` from the rows.
    node_states = models.JSONField(default=dict)
    trigger = models.JSONField(default=manual_trigger)
    # Counters kept under the run row lock so the run status is known without
    # scanning node rows: nodes dispatched and not finished, UX nodes waiting for a
    # person, failed nodes, and executable graph nodes done out of the total (drives
    # the entity's edge_progress).
    running_count = models.IntegerField(default=0)
    waiting_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    done_count = models.IntegerField(default=0)
    total_count = models.IntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Not a column. Set by the engine services on the run they return: the states of
    # the nodes that call changed, so an API action answers without reading every node.
    changed_nodes: dict[str, dict[str, Any]] | None = None

    class Meta:
        db_table = "stitch_runs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["flow"], name="idx_stitch_runs_flow_id"),
            models.Index(fields=["entity"], name="idx_stitch_runs_entity_id"),
            models.Index(fields=["-created_at"], name="idx_stitch_runs_created_at"),
            # The task inbox (flows.inbox): the runs of a flow that wait for a person.
            # Only those runs are in it, so it stays small however many runs exist.
            models.Index(
                fields=["flow"],
                name="idx_runs_waiting_for_people",
                condition=models.Q(waiting_count__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"


class NodeStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    WAITING_FOR_USER = "waiting_for_user"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class RunNode(models.Model):
    """State of one node of one run: a graph node, or an instance `{node_id}_{i}` of a
    node between a Splitter and its Collector (then `template_id` is the graph node).

    All writes happen under the run row lock (flows.engine), so the counters here need
    no locks of their own.
    """

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.TextField()
    template_id = models.TextField()
    index = models.IntegerField(null=True, blank=True)
    kind = models.TextField()
    status = models.TextField(choices=NodeStatus.choices, default=NodeStatus.PENDING)
    # Upstream nodes (or, for a Collector, branch instances) not completed yet; the
    # node fires when this reaches zero.
    blockers = models.IntegerField(default=0)
    # Collector only: branch instances still able to progress / that failed.
    branch_active = models.IntegerField(default=0)
    branch_failed = models.IntegerField(default=0)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    callback_deadline = models.DateTimeField(null=True, blank=True)
    # Callbacks recorded, never applied: after a cancel, of an earlier attempt, or
    # contradicting the finished node (flows.engine.services.callback_apply).
    late_callbacks = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "stitch_run_nodes"
        ordering = ["run", "template_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id"], name="uniq_run_node"),
        ]
        indexes = [
            # The Collector reads its branch outputs in index order; retry finds the
            # failed instances of a template.
            models.Index(fields=["run", "template_id", "index"], name="idx_run_nodes_template"),
            # The callback-timeout sweep only looks at running nodes past their deadline.
            models.Index(
                fields=["callback_deadline"],
                name="idx_run_nodes_deadline",
                condition=models.Q(status="running"),
            ),
            # A run's late callbacks (GET /api/runs/{id}/) without reading all its rows.
            models.Index(
                fields=["run"],
                name="idx_run_nodes_late",
                condition=~models.Q(late_callbacks=[]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"
