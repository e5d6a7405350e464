"""Reading run state back in the seed's `node_states` shape."""

from __future__ import annotations

from collections.abc import Iterable
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
# SPEC 4: a template node reports the first of these that any instance is in...
_SUMMARY_ORDER = (
    NodeStatus.FAILED,
    NodeStatus.RUNNING,
    NodeStatus.WAITING_FOR_USER,
    NodeStatus.PENDING,
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def summary(statuses: Iterable[str]) -> str:
    """A template node's status from its instances' (SPEC 4): failed if any failed, else
    running if any runs, else waiting_for_user if any waits, else pending if any is
    pending, else completed if all completed, else skipped."""
    present = set(statuses)
    for status in _SUMMARY_ORDER:
        if status in present:
            return status
    if present == {NodeStatus.COMPLETED}:
        return NodeStatus.COMPLETED
    return NodeStatus.SKIPPED


def state(
    status: str, output: Any, error: Any, attempts: int, started: Any, finished: Any
) -> dict[str, Any]:
    return {
        "status": status,
        "output": output,
        "error": error,
        "attempts": attempts,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
    }


def row_state(row: RunNode) -> dict[str, Any]:
    return state(row.status, row.output, row.error, row.attempts, row.started_at, row.finished_at)


def node_states(run: Run) -> dict[str, dict[str, Any]]:
    """`{node_id: {status, output, error, attempts, started_at, finished_at}}`, built from
    the run's node rows; instances appear as `{node_id}_{index}`, after their template,
    and a template's status is the summary of its instances."""
    rows = (
        RunNode.objects.filter(run=run)
        .order_by(F("index").asc(nulls_first=True), "id")
        .values_list(*_FIELDS)
    )
    states: dict[str, dict[str, Any]] = {}
    instances: dict[str, list[str]] = {}
    for node_id, template, index, status, output, error, attempts, started, finished in rows:
        if index is not None:
            instances.setdefault(template, []).append(status)
        states[node_id] = state(status, output, error, attempts, started, finished)
    for template, statuses in instances.items():
        if template in states:
            states[template]["status"] = summary(statuses)
    return states


def template_summaries(run: Run, templates: Iterable[str]) -> dict[str, str]:
    """The summary status of some template nodes, from one grouped query."""
    counts = (
        RunNode.objects.filter(run=run, template_id__in=list(templates))
        .exclude(index=None)
        .order_by()
        .values_list("template_id", "status")
        .distinct()
    )
    found: dict[str, list[str]] = {}
    for template, status in counts:
        found.setdefault(template, []).append(status)
    return {template: summary(statuses) for template, statuses in found.items()}


def late_callbacks(run: Run) -> list[dict[str, Any]]:
    """Every callback recorded and not applied (cancelled run, earlier attempt, result
    contradicting a finished node), oldest first: `{node_id, attempt, received_at,
    reason, status, output, error}`."""
    rows = (
        RunNode.objects.filter(run=run)
        .exclude(late_callbacks=[])  # idx_run_nodes_late
        .order_by()
        .values_list("node_id", "late_callbacks")
    )
    entries = [{"node_id": node_id, **entry} for node_id, recorded in rows for entry in recorded]
    return sorted(entries, key=lambda entry: str(entry.get("received_at", "")))
