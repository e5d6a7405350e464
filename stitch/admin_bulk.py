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


def replay_events(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[WebhookEvent]
) -> TemplateResponse | None:
    """Replay the chosen accepted events (refused deliveries are skipped)."""
    accepted = queryset.filter(accepted=True)
    if not _confirmed(request):
        count = accepted.count()
        refused = queryset.count() - count
        notes = [f"{refused} refused deliveries are left out: they cannot be replayed."]
        return _confirm_page(
            model_admin,
            request,
            Confirmation(
                title="Replay webhook events",
                summary=f"Replay {count} webhook event(s)? Each is processed again "
                "(a completed one starts a new run).",
                confirm_label=f"Yes, replay {count} event(s)",
                count=count,
                notes=notes if refused else [],
            ),
        )
    key = recovery.ids_key(accepted.values_list("pk", flat=True))
    assert request.user.is_authenticated
    replayed = webhook_services.webhook_events_replay(
        actor=request.user, events=accepted, request_key=key
    )
    model_admin.message_user(request, _done(replayed, "event(s) queued for processing again"))
    return None


def retry_runs(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Run]
) -> TemplateResponse | None:
    """Retry every failed node of the chosen failed runs."""
    failed = queryset.filter(status=RunStatus.FAILED)
    if not _confirmed(request):
        count = failed.count()
        nodes = RunNode.objects.filter(run__in=failed, status=NodeStatus.FAILED).count()
        others = queryset.count() - count
        return _confirm_page(
            model_admin,
            request,
            Confirmation(
                title="Retry failed runs",
                summary=f"Retry {count} failed run(s)? Their {nodes} failed node(s) are "
                "fired again with the input they had.",
                confirm_label=f"Yes, retry {count} run(s)",
                count=count,
                notes=[f"{others} run(s) that are not failed are left out."] if others else [],
            ),
        )
    key = recovery.ids_key(failed.values_list("pk", flat=True))
    assert request.user.is_authenticated
    done = flow_services.runs_retry_failed(actor=request.user, runs=failed, request_key=key)
    model_admin.message_user(
        request, _done(done.runs, f"run(s) retried ({done.nodes} node(s) fired again)")
    )
    return None


def _done(count: int, what: str) -> str:
    if count:
        return f"{count} {what}."
    return "Nothing new to do: this same action already covered every one of them."
