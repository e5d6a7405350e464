"""The engine's part of the admin: node states and late callbacks as tables on the Run
page, the cancel action calling the same service as the API (wired into
flows.admin.RunAdmin; the bulk retry of failed runs is stitch.admin_bulk), and the
run-node table itself (read-only)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from flows import engine
from flows.engine.read import template_summaries
from flows.models import Run, RunNode

TABLE_ROWS = 500
_HEAD = ("node", "status", "attempts", "started", "finished", "error")


def node_table(run: Run) -> str:
    states = list(engine.node_states(run).items())
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                node_id,
                state["status"],
                state["attempts"],
                state["started_at"] or "",
                state["finished_at"] or "",
                state["error"] or "",
            )
            for node_id, state in states[:TABLE_ROWS]
        ),
    )
    head = format_html_join("", "<th>{}</th>", ((h,) for h in _HEAD))
    more = len(states) - TABLE_ROWS
    note = format_html("<p>{} more nodes not shown</p>", more) if more > 0 else ""
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, rows, note
    )


_LATE_HEAD = ("node", "attempt", "received", "reason", "status", "output", "error")


def _short_json(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def late_callback_table(run: Run) -> str:
    """Callbacks recorded and not applied (cancelled run, earlier attempt, result
    contradicting a finished node), oldest first."""
    late = engine.late_callbacks(run)
    if not late:
        return "none"
    rows = format_html_join(
        "",
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td><code>{}</code></td><td>{}</td></tr>",
        (
            (
                entry["node_id"],
                entry.get("attempt") or "",
                entry.get("received_at") or "",
                entry.get("reason") or "",
                entry.get("status") or "",
                _short_json(entry.get("output")),
                entry.get("error") or "",
            )
            for entry in late[:TABLE_ROWS]
        ),
    )
    head = format_html_join("", "<th>{}</th>", ((h,) for h in _LATE_HEAD))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


def cancel_runs(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Run]
) -> None:
    for run in queryset:
        try:
            engine.run_cancel(run=run)
        except engine.RunConflict as exc:
            model_admin.message_user(request, f"run {run.pk}: {exc}", messages.WARNING)
        else:
            model_admin.message_user(request, f"run {run.pk} cancelled")


@admin.register(RunNode)
class RunNodeAdmin(admin.ModelAdmin):
    """`stitch_run_nodes`: one row per node of a run and per Splitter instance. Written
    by the engine only. A template node's row status is bookkeeping; its status is the
    summary of its instances (SPEC 4), shown as "status"."""

    list_display = [
        "node_id",
        "run",
        "kind",
        "row_status",
        "attempts",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["node_id", "template_id", "=run__id", "run__flow__name"]
    list_select_related = ["run"]
    fields = readonly_fields = (
        "run",
        "node_id",
        "template_id",
        "index",
        "kind",
        "summary_status",
        "attempts",
        "input",
        "output",
        "error",
        "started_at",
        "finished_at",
        "callback_deadline",
        "blockers",
        "branch_active",
        "branch_failed",
        "late_callbacks",
    )
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="status", ordering="status")
    def row_status(self, node: RunNode) -> str:
        return node.status

    @admin.display(description="status")
    def summary_status(self, node: RunNode) -> str:
        if node.index is not None:
            return node.status
        return template_summaries(node.run, [node.node_id]).get(node.node_id, node.status)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
