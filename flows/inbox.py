"""The task inbox: every UX node waiting for the signed-in user, across their runs.

A task is a run node in `waiting_for_user` of a run of a flow the user owns (a UX node,
or an instance of one inside a Splitter's branch), oldest first. Plan: the partial
index `idx_run_nodes_waiting` (started_at, id) WHERE status = 'waiting_for_user' holds
only the waiting rows, so it stays small whatever the number of runs and settled
nodes; PostgreSQL walks it in order, joins each row to its run and flow by primary key
and keeps the user's, stopping once a page is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from entities.models import Entity
from flows.engine.plan import plan_for
from flows.models import Flow, NodeStatus, Run, RunNode

PAGE_SIZE = 50


def waiting_tasks(user: Any) -> QuerySet[RunNode]:
    """The user's waiting nodes, oldest first. A template row (the summary of a node's
    instances) is not a task: its instances are (an instance has no instances, so the
    probe on idx_run_nodes_template only ever finds rows for templates)."""
    instances = RunNode.objects.filter(
        run_id=OuterRef("run_id"), template_id=OuterRef("node_id"), index__isnull=False
    )
    return (
        RunNode.objects.filter(status=NodeStatus.WAITING_FOR_USER, run__flow__owner=user)
        .filter(~Exists(instances))
        .select_related("run__flow", "run__entity")
        .defer("run__node_states", "run__flow__graph", "run__input", "output", "input")
        .order_by("started_at", "id")
    )


@dataclass(frozen=True)
class Task:
    node: RunNode
    label: str
    fields: list[Any]

    @property
    def run(self) -> Run:
        return self.node.run

    @property
    def flow(self) -> Flow:
        return self.node.run.flow

    @property
    def entity(self) -> Entity | None:
        return self.node.run.entity

    @property
    def waiting_since(self) -> datetime | None:
        return self.node.started_at


def task_of(node: RunNode) -> Task:
    """The node with what its pinned version says about it (label, form fields)."""
    data = plan_for(node.run.flow_version_id).data(node.template_id)
    label = str(data.get("label") or node.template_id)
    if node.index is not None:
        label = f"{label} #{node.index}"
    fields = data.get("fields")
    return Task(node=node, label=label, fields=fields if isinstance(fields, list) else [])
