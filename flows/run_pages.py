"""The run view's endpoints (admin and owners' pages; flows.page_scope decides who
sees what): the page, its JSON state for the page script, the node panel, pages of
instances, and the actions, which call the same engine services as the API."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from flows import engine, run_view, task_forms
from flows.models import NodeStatus, Run, RunStatus
from flows.page_scope import Scope

LATE_CALLBACKS_SHOWN = 20


def run_view_context(request: HttpRequest, run: Run, scope: Scope) -> dict[str, Any]:
    """Everything `runs/run_view.html` needs (the admin page and `/runs/{id}/`)."""
    selected = request.GET.get("node") or ""
    detail = run_view.node_detail(run, selected) if selected else None
    urls = {
        name: scope.url(name, run.pk)
        for name in ("page", "state", "node", "instances", "cancel", "retry", "complete")
    }
    return {
        "run": run,
        "picture": run_view.run_picture(run),
        "state": run_view.run_state(run),
        "run_urls": urls,
        "detail": detail,
        "panel": panel_context(request, run, detail, scope) if detail else None,
        # What run_cancel accepts: a failed run may still be cancelled (its waiting
        # and pending nodes skipped).
        "can_cancel": run.status not in (RunStatus.COMPLETED, RunStatus.CANCELLED),
    }


def panel_context(
    request: HttpRequest, run: Run, detail: run_view.NodeDetail, scope: Scope
) -> dict[str, Any]:
    row = detail.row
    form = None
    if detail.can_complete and row is not None:
        form = task_forms.output_form(detail.fields, initial_output=row.output)
    late = [
        {**entry, "output_json": json.dumps(entry.get("output"), ensure_ascii=False)}
        for entry in (row.late_callbacks or [] if row else [])[-LATE_CALLBACKS_SHOWN:]
        if isinstance(entry, dict)
    ]
    return {
        "run": run,
        "detail": detail,
        "row": row,
        "form": form,
        "late_callbacks": late,
        "input_json": task_forms.pretty_json(row.input) if row and row.input is not None else "",
        "output_json": task_forms.pretty_json(row.output) if row and row.output is not None else "",
        "complete_url": scope.url("complete", run.pk),
        "retry_url": scope.url("retry", run.pk),
        "instances_url": scope.url("instances", run.pk),
        "page_url": scope.url("page", run.pk),
    }


def run_page(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    run = scope.run(request, pk)
    context = run_view_context(request, run, scope)
    title = f"Run of {run.flow.name}"
    return render(request, "runs/run_page.html", context | scope.page_context(request, title))


@require_GET
def run_state(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    return JsonResponse(run_view.run_state(scope.run(request, pk)))


@require_GET
def node_panel(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    run = scope.run(request, pk)
    detail = run_view.node_detail(run, request.GET.get("id") or "")
    if detail is None:
        raise Http404("No such node in this run.")
    return render(request, "runs/node_panel.html", panel_context(request, run, detail, scope))


@require_GET
def instances(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    run = scope.run(request, pk)
    template_id = request.GET.get("template") or ""
    status = request.GET.get("status") or None
    if status is not None and status not in NodeStatus.values:
        return HttpResponseBadRequest(f"status must be one of {', '.join(NodeStatus.values)}")
    page = run_view.instance_page(run, template_id, status=status, number=request.GET.get("page"))
    context = {
        "run": run,
        "template_id": template_id,
        "status": status or "",
        "page": page,
        "instances_url": scope.url("instances", run.pk),
        "statuses": run_view.STATUS_ORDER,
    }
    return render(request, "runs/instances.html", context)


def back_to(request: HttpRequest, fallback: str, node_id: str = "") -> HttpResponseRedirect:
    """The page the form came from (`next`, same site only), else the run view."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback + (f"?node={node_id}" if node_id else "")
    return HttpResponseRedirect(target)


@require_POST
def cancel(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    run = scope.run(request, pk)
    scope.check_may_act(request)
    try:
        engine.run_cancel(run=run)
    except engine.RunConflict as exc:
        messages.error(request, f"Not cancelled: {exc}")
    else:
        messages.success(request, "Run cancelled: nodes not finished are skipped.")
    return back_to(request, scope.url("page", run.pk))


@require_POST
def retry(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    run = scope.run(request, pk)
    scope.check_may_act(request)
    node_id = request.POST.get("node_id") or ""
    if not node_id:
        return HttpResponseBadRequest("node_id is required")
    try:
        engine.node_retry(run=run, node_id=node_id)
    except engine.RunNotFound as exc:
        raise Http404(str(exc)) from exc
    except engine.RunConflict as exc:
        messages.error(request, f"Not retried: {exc}")
    else:
        messages.success(request, f"Node {node_id} retried.")
    return back_to(request, scope.url("page", run.pk), node_id)


RUN_LIST_PAGE = 50


@require_GET
def run_list(request: HttpRequest, *, scope: Scope) -> HttpResponse:
    """The owner's runs, newest first, optionally of one status (`?status=`)."""
    status = request.GET.get("status") or ""
    if status and status not in RunStatus.values:
        return HttpResponseBadRequest(f"status must be one of {', '.join(RunStatus.values)}")
    runs = scope.runs(request).order_by("-created_at", "-id")
    if status:
        runs = runs.filter(status=status)
    page = Paginator(runs, RUN_LIST_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": RunStatus.values,
        "status_query": f"status={status}&" if status else "",
    }
    return render(request, "runs/run_list.html", context | scope.page_context(request, "Runs"))
