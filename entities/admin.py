"""Operators' admin for entities (with a move action) and their journey events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from entities import services
from entities.models import Entity, JourneyEvent


class MoveForm(forms.Form):
    node_id = forms.ChoiceField(label="Move to node")

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["node_id"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def node_choices(entities: QuerySet[Entity]) -> list[tuple[str, str]]:
    """Nodes of the selected entities' canvases, labelled with their canvas."""
    choices: dict[str, str] = {}
    for canvas in {entity.canvas for entity in entities.select_related("canvas")}:
        graph = canvas.graph if isinstance(canvas.graph, dict) else {}
        for node in graph.get("nodes") or []:
            if isinstance(node, dict) and "id" in node:
                label = (node.get("data") or {}).get("label") or node["id"]
                choices.setdefault(str(node["id"]), f"{label} ({node['id']}) — {canvas.name}")
    return sorted(choices.items(), key=lambda item: item[1])


class EntityAdminForm(forms.ModelForm):
    """The fields an operator edits; position, journey and sequence belong to moves."""

    class Meta:
        model = Entity
        fields = ["canvas", *services.EDITABLE_FIELDS]

    def clean_email(self) -> str | None:
        email = services.email_normalise(self.cleaned_data.get("email"))
        # `canvas` is cleaned first (field order); on a change page it is read-only.
        canvas = self.cleaned_data.get("canvas") or getattr(self.instance, "canvas", None)
        clash = Entity.objects.filter(canvas=canvas, email=email).exclude(pk=self.instance.pk)
        if email and canvas is not None and clash.exists():
            raise forms.ValidationError("Another entity on this canvas has this e-mail address.")
        return email


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    form = EntityAdminForm
    list_display = ["name", "entity_type", "email", "canvas", "position", "updated_at"]
    list_filter = ["entity_type", "canvas__canvas_type", "created_at"]
    search_fields = ["name", "email", "id", "current_node_id", "current_edge_id"]
    list_select_related = ["canvas"]
    autocomplete_fields = ["canvas"]
    readonly_fields = [
        "id",
        "current_node_id",
        "current_edge_id",
        "edge_progress",
        "journey",
        "sequence",
        "node_entered_at",
        "created_at",
        "updated_at",
    ]
    actions = ["move_entities"]

    @admin.display(description="position")
    def position(self, entity: Entity) -> str:
        if entity.current_node_id:
            return f"at {entity.current_node_id}"
        if entity.current_edge_id:
            return f"on {entity.current_edge_id} ({entity.edge_progress})"
        return "—"

    @admin.action(description="Move selected entities to a node")
    def move_entities(
        self, request: HttpRequest, queryset: QuerySet[Entity]
    ) -> HttpResponse | None:
        form = MoveForm(
            request.POST if "apply" in request.POST else None, choices=node_choices(queryset)
        )
        if form.is_valid():
            self._move(request, queryset, form.cleaned_data["node_id"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Move entities",
            "entities": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/entities/entity/move.html", context)

    def _move(self, request: HttpRequest, queryset: QuerySet[Entity], node_id: str) -> None:
        moved, refused = 0, []
        for entity_id in queryset.values_list("pk", flat=True):
            try:
                services.entity_manual_move(entity_id=entity_id, node_id=node_id)
                moved += 1
            except services.MovementError as exc:
                refused.append(f"{entity_id}: {exc.message}")
        if moved:
            self.message_user(request, f"Moved {moved} entities to {node_id}.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not moved: " + "; ".join(refused), messages.WARNING)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Its position and journey name ids of its canvas: it never changes canvas.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "canvas"] if obj is not None else readonly

    def save_model(self, request: HttpRequest, obj: Entity, form: Any, change: bool) -> None:
        # Through the services, never a full save(): an edit writes only the fields the
        # operator changed, under the row lock, so a move committed while the form was
        # open is not undone; creates and edits reach open live pages.
        fields = [name for name in services.EDITABLE_FIELDS if name in form.cleaned_data]
        values = {name: form.cleaned_data[name] for name in fields}
        if change:
            changed = {name: values[name] for name in fields if name in form.changed_data}
            saved = services.entity_update(entity_id=obj.pk, changes=changed)
        else:
            saved = services.entity_create(canvas=form.cleaned_data["canvas"], **values)
        obj.pk, obj.sequence = saved.pk, saved.sequence  # the admin's messages and redirect

    # Deletes go through the service so open live pages drop the dots.
    def delete_model(self, request: HttpRequest, obj: Entity) -> None:
        services.entity_delete(entity_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Entity]) -> None:
        for entity_id in queryset.values_list("pk", flat=True):
            services.entity_delete(entity_id=entity_id)


@admin.register(JourneyEvent)
class JourneyEventAdmin(admin.ModelAdmin):
    """Append-only history: viewable, never edited."""

    list_display = ["timestamp", "event_type", "entity", "node_id", "edge_id", "progress"]
    list_filter = ["event_type", "timestamp"]
    search_fields = ["entity__name", "entity__email", "node_id", "edge_id"]
    list_select_related = ["entity"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
