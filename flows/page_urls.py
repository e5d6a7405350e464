"""URL patterns of the run view and the task inbox, built for each place they live:
the owners' pages (`/runs/...`, `/tasks/...`, names `run-<name>`) and the admin's Run
pages (`/admin/flows/run/...`, names `admin:flows_run_<name>`; there the run page
itself is the Run change page)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, update_wrapper
from typing import Any

from django.contrib.auth.decorators import login_required
from django.urls import URLPattern, path

from flows import run_pages, task_pages
from flows.page_scope import OWNER, Scope

View = Callable[..., Any]
Wrap = Callable[[View], View]

RUN_VIEWS: list[tuple[str, str, View]] = [
    ("state/", "state", run_pages.run_state),
    ("node/", "node", run_pages.node_panel),
    ("instances/", "instances", run_pages.instances),
    ("cancel/", "cancel", run_pages.cancel),
    ("retry/", "retry", run_pages.retry),
    ("complete/", "complete", task_pages.complete),
]


def _bound(view: View, scope: Scope) -> View:
    return update_wrapper(partial(view, scope=scope), view)


def patterns(scope: Scope, wrap: Wrap, *, runs: str, tasks: str) -> list[URLPattern]:
    """Run endpoints under `{runs}<uuid:pk>/`, the inbox at `{tasks}`."""
    urls = [
        path(f"{runs}<uuid:pk>/{route}", wrap(_bound(view, scope)), name=scope.name(short))
        for route, short, view in RUN_VIEWS
    ]
    return [
        *urls,
        path(tasks, wrap(_bound(task_pages.inbox_page, scope)), name=scope.name("inbox")),
        path(
            f"{tasks}list/",
            wrap(_bound(task_pages.inbox_list, scope)),
            name=scope.name("inbox_list"),
        ),
    ]


def owner_patterns() -> list[URLPattern]:
    """Mounted at the site root by stitch.urls: `/runs/`, `/runs/{id}/...`, `/tasks/`
    (the admin has its own run list)."""
    page = login_required(_bound(run_pages.run_page, OWNER))
    runs = login_required(_bound(run_pages.run_list, OWNER))
    return [
        path("runs/", runs, name=OWNER.name("list")),
        path("runs/<uuid:pk>/", page, name=OWNER.name("page")),
        *patterns(OWNER, login_required, runs="runs/", tasks="tasks/"),
    ]
