"""The canvas editor's server half: the graph form field and what the page script
(static/canvas/editor.js) is told. The admin's Flow form and the owners' edit page
(`/flows/{id}/edit/`) both use `GraphFormMixin`, so there is one editor.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from entities.models import Entity
from entities.picture import PALETTE, dot_settings
from flows import services
from flows.graph import GraphInvalid, GraphProblem
from flows.hierarchy import children
from flows.layout import canvas_layout, layout_settings
from flows.models import CanvasType, Flow, empty_graph
from flows.workers import worker_types

# Entities drawn in the editor (where they stand); more would only hide the graph.
MAX_ENTITIES = 500


class GraphEditorWidget(forms.Textarea):
    """The editor, with the graph's JSON textarea as its raw JSON panel (the textarea
    is what the form posts, so the page also works as a plain JSON form)."""

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__({"rows": 24, "cols": 100, "class": "graph-json", **(attrs or {})})
        self.config: dict[str, Any] = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        textarea = super().render(name, value, attrs, renderer)
        context = {"textarea": textarea, "config": self.config}
        return SafeString(render_to_string("flows/editor.html", context))


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows the stored value indented, so operators can read it."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class GraphFormMixin(forms.Form):
    """A one-line name and the graph edited on the canvas; graph problems (the same
    checks as every save, drill-down links included) go on the graph field, one line
    each, and to the editor, which marks them on their nodes and edges."""

    name = forms.CharField(widget=forms.TextInput(attrs={"size": 60}), max_length=500)
    graph = PrettyJSONField(
        initial=empty_graph,
        widget=GraphEditorWidget(),
        help_text="Drawn on the canvas above; the JSON is under the editor's “JSON” button.",
    )

    def editor_setup(self, *, flow: Flow | None, canvas_type: str, admin: bool) -> None:
        widget = self.fields["graph"].widget
        assert isinstance(widget, GraphEditorWidget)
        widget.config = editor_config(flow=flow, canvas_type=canvas_type, admin=admin)

    def graph_problems_check(
        self, *, graph: Any, canvas_type: str, flow: Flow | None, links: bool = True
    ) -> None:
        try:
            services.graph_check(graph=graph, canvas_type=canvas_type, flow=flow, links=links)
        except GraphInvalid as exc:
            self.graph_problems_show(exc.problems)

    def graph_problems_show(self, problems: list[GraphProblem]) -> None:
        self.add_error("graph", [str(problem) for problem in problems])
        widget = self.fields["graph"].widget
        assert isinstance(widget, GraphEditorWidget)
        widget.config["problems"] = [problem.as_dict() for problem in problems]


def _movement_targets(flow: Flow | None) -> list[dict[str, str]]:
    """Nodes an entity can be moved to by this workflow: those of the canvas above it,
    where the entities of its runs stand."""
    canvas = flow.parent if flow is not None else None
    if canvas is None:
        return []
    placed, _ = canvas_layout(canvas.graph, canvas.canvas_type)
    return [{"id": node.id, "label": node.label} for node in placed]


def _entities(flow: Flow | None) -> list[dict[str, Any]]:
    if flow is None or flow._state.adding:
        return []
    rows = Entity.objects.filter(canvas=flow).order_by("created_at")[:MAX_ENTITIES]
    return [
        {
            "id": str(e.pk),
            "name": e.name,
            "entity_type": e.entity_type,
            "current_node_id": e.current_node_id,
            "current_edge_id": e.current_edge_id,
            "edge_progress": float(e.edge_progress) if e.edge_progress is not None else None,
            "created_at": e.created_at.isoformat(),
        }
        for e in rows.only(
            "id",
            "name",
            "entity_type",
            "current_node_id",
            "current_edge_id",
            "edge_progress",
            "created_at",
        )
    ]


def editor_config(*, flow: Flow | None, canvas_type: str, admin: bool) -> dict[str, Any]:
    """What editor.js needs: where to validate, what a node may open, the layout's
    numbers, the registered workers, the entities standing on the canvas."""
    saved = flow is not None and not flow._state.adding
    if admin:
        child_url = reverse("admin:flows_flow_change", args=["__id__"])
    else:
        child_url = reverse("flow-edit", args=["00000000-0000-0000-0000-000000000000"])
        child_url = child_url.replace("00000000-0000-0000-0000-000000000000", "__id__")
    return {
        "flowId": str(flow.pk) if saved and flow else None,
        "canvasType": canvas_type,
        "canvasTypeField": "id_canvas_type" if admin else None,
        "graphField": "id_graph",
        "saveButton": "[name=_continue]" if admin else "[type=submit]",
        "validateUrl": (
            reverse("flow-validate", args=[flow.pk])
            if saved and flow
            else reverse("flow-validate-new")
        ),
        "childUrl": child_url,
        "children": [
            {"id": str(c.pk), "name": c.name, "canvas_type": c.canvas_type}
            for c in (children(flow) if saved and flow else [])
        ],
        "workerTypes": worker_types(),
        "workerDefaults": {
            "timeoutSeconds": settings.WORKER_DEFAULT_TIMEOUT_SECONDS,
            "retries": settings.WORKER_DEFAULT_RETRIES,
            "callbackTimeoutSeconds": settings.WORKER_CALLBACK_TIMEOUT_SECONDS,
        },
        "movementTargets": _movement_targets(flow),
        "layout": layout_settings(),
        "canvasTypes": [choice for choice, _ in CanvasType.choices],
        "entities": _entities(flow),
        "dot": dot_settings(),
        "palette": PALETTE,
        "problems": [],
    }
