"""Who may see which runs on the operators' pages, and where those pages live.

The same views serve two places: the admin (`/admin/flows/run/...`, staff, every run,
acting needs the `change_run` permission) and the owners' pages (`/runs/...`,
`/tasks/...`, any signed-in user, only runs of flows they own: anything else is 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse

from flows.models import Run


@dataclass(frozen=True)
class Scope:
    admin: bool

    def runs(self, request: HttpRequest) -> QuerySet[Run]:
        runs = Run.objects.select_related("flow", "flow_version", "entity").defer(
            "node_states", "flow__graph"
        )
        if self.admin:
            if not request.user.has_perm("flows.view_run"):
                raise PermissionDenied
            return runs
        return runs.filter(flow__owner_id=request.user.pk)

    def run(self, request: HttpRequest, pk: Any) -> Run:
        try:
            return self.runs(request).get(pk=pk)
        except (Run.DoesNotExist, ValueError) as exc:
            raise Http404("No such run.") from exc

    def check_may_act(self, request: HttpRequest) -> None:
        """Owners act on their own runs; in the admin it takes the change permission."""
        if self.admin and not request.user.has_perm("flows.change_run"):
            raise PermissionDenied

    def name(self, short: str) -> str:
        """The URL name of a page (`state`, `inbox`...) in this place."""
        if self.admin:
            return "flows_run_change" if short == "page" else f"flows_run_{short}"
        return f"run-{short}"

    def url(self, short: str, *args: Any) -> str:
        return reverse(f"admin:{self.name(short)}" if self.admin else self.name(short), args=args)

    def page_context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        """What a full page needs: its base template, and the admin's header context."""
        context: dict[str, Any] = {"title": title, "scope_admin": self.admin}
        if self.admin:
            context |= admin.site.each_context(request) | {"opts": Run._meta}
        return context | {"base": "admin/base_site.html" if self.admin else "runs/base.html"}


ADMIN = Scope(admin=True)
OWNER = Scope(admin=False)
