"""The task inbox: every UX node waiting for the signed-in user, across their runs.

A task is a run node in `waiting_for_user` of a run of a flow the user owns (a UX node,
or an instance of one inside a Splitter's branch), oldest first.

Plan (bench/inbox.py, a million run nodes): the user's flows by owner, then only their
runs that wait for a person through the partial index `idx_runs_waiting_for_people`
(flow_id) WHERE waiting_count > 0 (the engine's counter of UX nodes waiting in a run),
then each such run's nodes by run_id; settled runs are never read. A first version
indexed the waiting run nodes instead; the planner still preferred scanning every run
of the table (24 ms at 20,000 runs against 0.4 ms now).
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
        RunNode.objects.filter(
            status=NodeStatus.WAITING_FOR_USER,
            run__waiting_count__gt=0,  # the same fact, said so the partial index applies
            run__flow__owner=user,
        )
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
