"""Operators' admin for canvases, their versions and runs (SPEC section 11)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import URLPattern, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from flows import run_admin, run_view_admin, services
from flows.editor import GraphFormMixin
from flows.hierarchy import child_links, children, version_list
from flows.models import CanvasType, Flow, FlowVersion, Run
from stitch import admin_bulk
from stitch.errors import FieldError


class FlowAdminForm(GraphFormMixin, forms.ModelForm):
    """Name, type, owner, parent, and the graph drawn on the canvas editor."""

    class Meta:
        model = Flow
        fields = ["name", "canvas_type", "owner", "parent", "graph"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        flow = None if self.instance._state.adding else self.instance
        canvas_type = (
            self.data.get("canvas_type")
            or self.initial.get("canvas_type")
            or self.instance.canvas_type
            or CanvasType.WORKFLOW
        )
        self.editor_setup(flow=flow, canvas_type=str(canvas_type), admin=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        parent, owner = cleaned.get("parent"), cleaned.get("owner")
        if parent is not None and owner is not None and parent.owner_id != owner.pk:
            self.add_error("parent", "The parent canvas must belong to the same owner.")
        flow = None if self.instance._state.adding else self.instance
        try:
            services.parent_check(flow=flow, parent=parent)
        except FieldError as exc:
            self.add_error("parent", exc.message)
        graph, canvas_type = cleaned.get("graph"), cleaned.get("canvas_type")
        if "graph" in cleaned and canvas_type:
            # As flow_update does: drill-down links are checked when the graph or the
            # owner changes; a new canvas has no children, so it links to none.
            unchanged = flow is not None and (graph, owner) == (flow.graph, flow.owner)
            self.graph_problems_check(
                graph=graph, canvas_type=canvas_type, flow=flow, links=not unchanged
            )
        return cleaned


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    form = FlowAdminForm
    list_display = [
        "name",
        "canvas_type",
        "version_number",
        "owner",
        "parent",
        "children_count",
        "updated_at",
    ]
    list_filter = ["canvas_type", "created_at"]
    search_fields = ["name", "owner__username", "id"]
    list_select_related = ["owner", "parent", "current_version"]
    autocomplete_fields = ["owner", "parent"]
    readonly_fields = [
        "id",
        "pages",
        "children_list",
        "version_history",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "canvas_type", "owner", "parent", "pages"]}),
        ("Canvas", {"fields": ["graph"]}),
        ("Child canvases", {"fields": ["children_list"]}),
        ("Versions", {"fields": ["version_history"]}),
        ("Record", {"fields": ["id", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flow]:
        return super().get_queryset(request).annotate(children_total=Count("children"))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # "Add a child canvas" links pass ?parent=...; the new canvas is the operator's
        # unless they pick another owner.
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        initial.setdefault("owner", str(request.user.pk))
        parent = services.as_flow_id(initial.get("parent"))
        if parent is not None:
            found = Flow.objects.filter(pk=parent).values_list("owner_id", flat=True).first()
            initial["owner"] = str(found) if found else initial["owner"]
        return initial

    @admin.display(description="version", ordering="current_version__number")
    def version_number(self, flow: Flow) -> int | None:
        return flow.current_version.number if flow.current_version else None

    @admin.display(description="children", ordering="children_total")
    def children_count(self, flow: Flow) -> int:
        return getattr(flow, "children_total", 0)

    @admin.display(description="pages")
    def pages(self, flow: Flow) -> str:
        if flow._state.adding:
            return "—"
        return format_html(
            '<a href="{}">live page</a> · <a href="{}">editor for the owner</a>',
            reverse("flow-live", args=[flow.pk]),
            reverse("flow-edit", args=[flow.pk]),
        )

    @admin.display(description="children")
    def children_list(self, flow: Flow) -> str:
        if flow._state.adding:
            return "Save the canvas first, then add child canvases."
        opened_by = child_links(flow)
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({}){}</li>',
            (
                (
                    reverse("admin:flows_flow_change", args=[child.pk]),
                    child.name,
                    child.get_canvas_type_display(),
                    format_html(" — opened by node <code>{}</code>", opened_by[str(child.pk)])
                    if str(child.pk) in opened_by
                    else " — no node opens it yet",
                )
                for child in children(flow)
            ),
        )
        add = reverse("admin:flows_flow_add") + f"?parent={flow.pk}&canvas_type=detail"
        return format_html(
            '<ul class="canvas-children">{}</ul>'
            '<a class="addlink" href="{}">Add a child canvas</a>',
            rows or mark_safe("<li>none yet</li>"),
            add,
        )

    @admin.display(description="versions")
    def version_history(self, flow: Flow) -> SafeString:
        if flow._state.adding:
            return SafeString("—")
        context = {"versions": version_list(flow), "admin": True}
        return SafeString(render_to_string("flows/versions.html", context))

    def save_model(self, request: HttpRequest, obj: Flow, form: Any, change: bool) -> None:
        # Through the services, so a changed workflow graph gets its new version
        # exactly as it does through the API.
        data = form.cleaned_data
        fields = {k: data[k] for k in ("name", "graph", "canvas_type", "parent")}
        if change:
            saved = services.flow_update(flow=obj, owner=data["owner"], **fields)
        else:
            saved = services.flow_create(owner=data["owner"], **fields)
        # The admin reads obj.pk afterwards (redirect, log entry).
        obj.pk, obj.current_version = saved.pk, saved.current_version

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Versions cannot be deleted one by one (no delete permission), but they go
        # with their flow, so they must not block the confirmation page.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(FlowVersion._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Flow) -> None:
        services.flow_delete(flow=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Flow]) -> None:
        for flow in queryset:
            services.flow_delete(flow=flow)


@admin.register(FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin):
    list_display = ["flow", "number", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["flow__name", "flow__id"]
    list_select_related = ["flow"]
    fields = readonly_fields = ("id", "flow", "number", "graph", "plan", "created_at")

    # Versions are immutable snapshots that runs are pinned to.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "flow", "version_number", "status", "entity", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "flow__name", "entity__name"]
    list_select_related = ["flow", "flow_version", "entity"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "id",
        "flow",
        "flow_version",
        "entity",
        "status",
        "input",
        "trigger",
        "created_at",
        "updated_at",
        "finished_at",
        "node_table",
        "late_callback_table",
    )
    actions = ["cancel_runs", "retry_failed_nodes"]
    # The live run view (graph by status, node details, actions), "start a run" as
    # the add page, and the task inbox: flows.run_view_admin.
    change_form_template = "runs/admin/run_change_form.html"
    change_list_template = "runs/admin/run_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        return [*run_view_admin.admin_patterns(self.admin_site), *super().get_urls()]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return run_view_admin.start_run(self, request)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), **run_view_admin.change_context(request, object_id)}
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="node states")
    def node_table(self, run: Run) -> str:
        return run_admin.node_table(run)

    @admin.display(description="late callbacks")
    def late_callback_table(self, run: Run) -> str:
        return run_admin.late_callback_table(run)

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        run_admin.cancel_runs(self, request, queryset)

    @admin.action(description="Retry the failed nodes of selected runs (asks first)")
    def retry_failed_nodes(self, request: HttpRequest, queryset: QuerySet[Run]) -> Any:
        return admin_bulk.retry_runs(self, request, queryset)

    @admin.display(description="version", ordering="flow_version__number")
    def version_number(self, run: Run) -> int:
        return run.flow_version.number

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).select_related("flow", "flow_version", "entity")

    # Runs are created and changed only by the engine: the add page is the start
    # form, which calls engine.run_start.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("flows.add_run")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
