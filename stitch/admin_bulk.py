"""Admin bulk recovery actions behind a confirmation page that says how many (SPEC 11,
13): replay webhook events, retry the failed nodes of runs. Wired into the apps'
ModelAdmins; each calls the same service as its API endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from flows import services as flow_services
from flows.models import NodeStatus, Run, RunNode, RunStatus
from stitch import recovery
from webhooks import services as webhook_services
from webhooks.models import WebhookEvent


@dataclass
class Confirmation:
    title: str
    summary: str
    confirm_label: str
    count: int
    notes: list[str] = field(default_factory=list)


def _confirm_page(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, confirmation: Confirmation
) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": confirmation.title,
        "summary": confirmation.summary,
        "notes": confirmation.notes,
        "count": confirmation.count,
        "confirm_label": confirmation.confirm_label,
        "action": request.POST.get("action", ""),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/stitch/bulk_confirm.html", context)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("post") == "yes"


# Changelist parameters that do not change which rows match.
_VIEW_ONLY = {"o", "p", "_to_field", "_popup"}


def _request_key(request: HttpRequest) -> str:
    """What makes two admin actions identical: "all N matching" is the list's filters
    (its query string), else the rows ticked."""
    if request.POST.get("select_across") == "1":
        filters = {k: v for k, v in sorted(request.GET.lists()) if k not in _VIEW_ONLY}
        return recovery.request_key({"path": request.path, "filters": filters})
    return recovery.ids_key(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))


def replay_events(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[WebhookEvent]
) -> TemplateResponse | None:
    """Replay the chosen accepted events (refused deliveries are skipped)."""
    assert request.user.is_authenticated
    key = _request_key(request)
    accepted = queryset.filter(accepted=True)
    if not _confirmed(request):
        todo = recovery.unmarked(accepted, kind=recovery.REPLAY, actor=request.user, key=key)
        count = todo.count()
        notes = _left_out(
            refused=(queryset.count() - accepted.count(), "refused deliveries (never replayed)"),
            done=(accepted.count() - count, "already replayed by this same action"),
        )
        return _confirm_page(
            model_admin,
            request,
            Confirmation(
                title="Replay webhook events",
                summary=f"Replay {count} webhook event(s)? Each is processed again "
                "(a completed one starts a new run).",
                confirm_label=f"Yes, replay {count} event(s)",
                count=count,
                notes=notes,
            ),
        )
    replayed = webhook_services.webhook_events_replay(
        actor=request.user, events=accepted, request_key=key
    )
    model_admin.message_user(request, _done(replayed, "event(s) queued for processing again"))
    return None


def retry_runs(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Run]
) -> TemplateResponse | None:
    """Retry every failed node of the chosen failed runs."""
    assert request.user.is_authenticated
    key = _request_key(request)
    failed = queryset.filter(status=RunStatus.FAILED)
    if not _confirmed(request):
        todo = recovery.unmarked(failed, kind=recovery.RETRY, actor=request.user, key=key)
        count = todo.count()
        nodes = RunNode.objects.filter(run__in=todo, status=NodeStatus.FAILED).count()
        notes = _left_out(
            others=(queryset.count() - failed.count(), "run(s) that are not failed"),
            done=(failed.count() - count, "already retried by this same action"),
        )
        return _confirm_page(
            model_admin,
            request,
            Confirmation(
                title="Retry failed runs",
                summary=f"Retry {count} failed run(s)? Their {nodes} failed node(s) are "
                "fired again with the input they had.",
                confirm_label=f"Yes, retry {count} run(s)",
                count=count,
                notes=notes,
            ),
        )
    done = flow_services.runs_retry_failed(actor=request.user, runs=failed, request_key=key)
    model_admin.message_user(
        request, _done(done.runs, f"run(s) retried ({done.nodes} node(s) fired again)")
    )
    return None


def _left_out(**groups: tuple[int, str]) -> list[str]:
    return [f"Left out: {count} {what}." for count, what in groups.values() if count]


def _done(count: int, what: str) -> str:
    if count:
        return f"{count} {what}."
    return "Nothing new to do: this same action already covered every one of them."
