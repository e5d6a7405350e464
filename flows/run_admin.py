"""The engine's part of the Run admin: node states as a table, the cancel action calling
the same service as the API (wired into flows.admin.RunAdmin; the bulk retry of failed
runs is stitch.admin_bulk)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from flows import engine
from flows.models import Run

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
