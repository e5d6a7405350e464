"""Reading run state back in the seed's `node_states` shape."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from flows.models import NodeStatus, Run, RunNode

_FIELDS = (
    "node_id",
    "template_id",
    "index",
    "status",
    "output",
    "error",
    "attempts",
    "started_at",
    "finished_at",
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(statuses: list[str]) -> str:
    """A template node's status from its instances (SPEC 4: completed when all are)."""
    if any(s == NodeStatus.FAILED for s in statuses):
        return NodeStatus.FAILED
    if all(s == NodeStatus.COMPLETED for s in statuses):
        return NodeStatus.COMPLETED
    if all(s == NodeStatus.SKIPPED for s in statuses):
        return NodeStatus.SKIPPED
    return NodeStatus.RUNNING


def node_states(run: Run) -> dict[str, dict[str, Any]]:
    """`{node_id: {status, output, error, attempts, started_at, finished_at}}`, built from
    the run's node rows; instances appear as `{node_id}_{index}`, after their template."""
    rows = list(
        RunNode.objects.filter(run=run)
        .order_by(F("index").asc(nulls_first=True), "id")
        .values_list(*_FIELDS)
    )
    states: dict[str, dict[str, Any]] = {}
    instances: dict[str, list[str]] = {}
    for node_id, template, index, status, output, error, attempts, started, finished in rows:
        if index is not None:
            instances.setdefault(template, []).append(status)
        states[node_id] = {
            "status": status,
            "output": output,
            "error": error,
            "attempts": attempts,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
        }
    for template, statuses in instances.items():
        if template in states:
            states[template]["status"] = _summary(statuses)
    return states
