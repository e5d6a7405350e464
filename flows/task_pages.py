"""The task inbox and the form that completes a UX node (admin and owners' pages).

Completing calls `engine.ux_complete`, the service behind
`POST /api/runs/{id}/nodes/{node_id}/complete/`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from flows import engine, inbox, task_forms
from flows.models import NodeStatus, Run, RunNode
from flows.page_scope import Scope
from flows.run_pages import back_to


def inbox_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    page = Paginator(inbox.waiting_tasks(request.user), inbox.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = []
    for node in page:
        task = inbox.task_of(node)
        run_url = scope.url("page", task.run.pk)
        rows.append(
            {
                "task": task,
                "run_url": run_url,
                "complete_url": scope.url("complete", task.run.pk),
            }
        )
    return {
        "rows": rows,
        "page": page,
        "list_url": scope.url("inbox_list"),
        "inbox_url": scope.url("inbox"),
    }


def inbox_page(request: HttpRequest, *, scope: Scope) -> HttpResponse:
    context = inbox_context(request, scope) | scope.page_context(request, "Task inbox")
    return render(request, "runs/inbox.html", context)


@require_GET
def inbox_list(request: HttpRequest, *, scope: Scope) -> HttpResponse:
    """The list alone, fetched again by the page script when tasks change."""
    return render(request, "runs/task_list.html", inbox_context(request, scope))


def waiting_node(run: Run, node_id: str) -> RunNode:
    node = RunNode.objects.filter(run=run, node_id=node_id).first()
    if node is None:
        raise Http404("No such node in this run.")
    return node


def complete(request: HttpRequest, pk: Any, *, scope: Scope) -> HttpResponse:
    """GET: the form for a waiting UX node (`?node=`); POST: complete it with the
    form's output. Invalid input is shown again with each error on its field (400)."""
    run = scope.run(request, pk)
    node_id = request.POST.get("node_id") or request.GET.get("node") or ""
    node = waiting_node(run, node_id)
    task = inbox.task_of(_with_run(node, run))
    data = request.POST if request.method == "POST" else None
    form = task_forms.output_form(task.fields, data, initial_output=node.output)
    status = 200
    if request.method == "POST":
        scope.check_may_act(request)
        if form.is_valid():
            return _complete(request, scope, run, node, task_forms.form_output(form))
        status = 400
    context = {
        "task": task,
        "run": run,
        "node": node,
        "form": form,
        "waiting": node.status == NodeStatus.WAITING_FOR_USER,
        "complete_url": scope.url("complete", run.pk),
        "run_url": scope.url("page", run.pk),
        "next": request.POST.get("next") or request.GET.get("next") or "",
        "input_json": task_forms.pretty_json(node.input),
        **scope.page_context(request, task.label),
    }
    return render(request, "runs/complete.html", context, status=status)


def _with_run(node: RunNode, run: Run) -> RunNode:
    node.run = run  # already read with its flow and entity
    return node


def _complete(
    request: HttpRequest, scope: Scope, run: Run, node: RunNode, output: Any
) -> HttpResponse:
    try:
        done = engine.ux_complete(run=run, node_id=node.node_id, output=output)
    except engine.RunConflict as exc:
        messages.error(request, f"Not completed: {exc}")
    else:
        messages.success(
            request, f"{node.node_id} completed; the run is now {done.status}.", extra_tags="task"
        )
    return back_to(request, scope.url("page", run.pk), node.node_id)
