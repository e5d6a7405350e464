"""The run view, the task inbox and "start a run" inside the admin (wired into
flows.admin.RunAdmin): the Run change page shows the live run view, the Run add page
is the start form, and the inbox lives at /admin/flows/run/tasks/."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse

from flows import engine
from flows.models import Run
from flows.page_scope import ADMIN
from flows.page_urls import patterns
from flows.run_pages import run_view_context
from flows.task_forms import StartRunForm
from stitch.errors import FieldError


def admin_patterns(site: admin.AdminSite) -> list[URLPattern]:
    return patterns(ADMIN, site.admin_view, runs="", tasks="tasks/")


def start_run(model_admin: admin.ModelAdmin[Run], request: HttpRequest) -> HttpResponse:
    """The Run "add" page: pick a workflow, give input JSON and optionally an entity;
    `engine.run_start` (what `POST /api/flows/{id}/runs/` calls) starts it, and the
    operator lands on the run view."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    site = model_admin.admin_site
    initial = {"workflow": request.GET.get("workflow")} if request.GET.get("workflow") else {}
    form = StartRunForm(
        request.POST if request.method == "POST" else None, admin_site=site, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = engine.run_start(
                flow=data["workflow"],
                input={} if data["input"] is None else data["input"],
                entity=data["entity"],
                trigger={"type": "manual", "source": "admin", "event_id": None},
            )
        except FieldError as exc:
            form.add_error("workflow" if exc.field == "flow" else None, exc.message)
        else:
            messages.success(request, f"Run started on {data['workflow'].name}.")
            return HttpResponseRedirect(reverse("admin:flows_run_change", args=[run.pk]))
    context = {
        **site.each_context(request),
        "title": "Start a run",
        "form": form,
        "media": model_admin.media + form.media,
        "opts": Run._meta,
        "inbox_url": ADMIN.url("inbox"),
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "runs/admin/start_run.html", context, status=status)


def change_context(request: HttpRequest, object_id: str) -> dict[str, Any]:
    """The run view's context for the Run change page ({} for an unknown run: the
    admin then says so itself)."""
    run = ADMIN.runs(request).filter(pk=object_id).first() if _is_uuid(object_id) else None
    return {} if run is None else run_view_context(request, run, ADMIN)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
