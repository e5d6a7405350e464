from __future__ import annotations

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
    flow_version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="runs")
    entity = models.ForeignKey(
        "entities.Entity", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.TextField(
        choices=RunStatus.choices, default=RunStatus.PENDING, db_default=RunStatus.PENDING
    )
    input = models.JSONField(default=dict, blank=True)
    # Seed column. Live node state is kept elsewhere by the engine (see flows.engine).
    node_states = models.JSONField(default=dict)
    trigger = models.JSONField(default=manual_trigger)

    class Meta:
        db_table = "stitch_runs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["flow"], name="idx_stitch_runs_flow_id"),
            models.Index(fields=["entity"], name="idx_stitch_runs_entity_id"),
            models.Index(fields=["-created_at"], name="idx_stitch_runs_created_at"),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"
