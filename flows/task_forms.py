"""Forms of the run view, the task inbox and "start a run" (admin).

A UX node's output form is built from its `data.fields`, a list of
`{"name", "type", "label"?, "required"?, "options"?, "help"?}`; without fields the
output is a JSON document. Every value goes through the field's validation and then
through the one JSON reader's storability check (stitch.jsondata), so what reaches
`engine.ux_complete` can be stored.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from entities.models import Entity
from flows.models import CanvasType, Flow, Run
from stitch import jsondata

OUTPUT_PREFIX = "output"
_TEXT_TYPES = {"text", "string", "textarea", "email", "url"}
FIELD_TYPES = sorted(
    _TEXT_TYPES | {"number", "integer", "boolean", "date", "datetime", "select", "json"}
)


class JSONTextField(forms.CharField):
    """A JSON document typed by a person, read by stitch.jsondata (errors name `path`)."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 80, "class": "json-input"})

    def __init__(self, *, path: str, **kwargs: Any):
        self.path = path
        super().__init__(strip=True, **kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        try:
            return jsondata.loads(text, path=self.path)
        except jsondata.JSONDataError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str) or value is None:
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


# What a page shows of one JSON value; the API has the rest.
SHOWN_JSON_CHARS = 20_000


def pretty_json(value: Any) -> str:
    """Indented JSON, cut after SHOWN_JSON_CHARS characters (saying so)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) <= SHOWN_JSON_CHARS:
        return text
    return f"{text[:SHOWN_JSON_CHARS]}\n… ({len(text):,} characters; the API has all of it)"


# --- a UX node's output -----------------------------------------------------------------
def _form_field(spec: dict[str, Any]) -> forms.Field:
    kind = str(spec.get("type") or "text").lower()
    common: dict[str, Any] = {
        "label": str(spec.get("label") or spec["name"]),
        "required": spec.get("required") is True,
        "help_text": str(spec.get("help") or ""),
    }
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "number":
        return forms.FloatField(**common)
    if kind == "integer":
        return forms.IntegerField(**common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "datetime":
        local = forms.DateTimeInput(attrs={"type": "datetime-local"})
        return forms.DateTimeField(widget=local, **common)
    if kind == "select":
        options = [str(o) for o in spec.get("options") or [] if isinstance(o, str | int | float)]
        choices = ([] if common["required"] else [("", "—")]) + [(o, o) for o in options]
        return forms.ChoiceField(choices=choices, **common)
    if kind == "json":
        return JSONTextField(path=f"output.{spec['name']}", **common)
    if kind == "email":
        return forms.EmailField(**common)
    if kind == "url":
        return forms.URLField(**common)
    widget = forms.Textarea(attrs={"rows": 3}) if kind == "textarea" else None
    return forms.CharField(widget=widget, **common)


def field_specs(fields: Any) -> list[dict[str, Any]]:
    """The usable entries of `data.fields`: objects with a non-empty string `name`,
    first of each name."""
    specs, seen = [], set()
    for spec in fields if isinstance(fields, list) else []:
        name = spec.get("name") if isinstance(spec, dict) else None
        if isinstance(name, str) and name.strip() and name not in seen:
            seen.add(name)
            specs.append(spec)
    return specs


class FieldsOutputForm(forms.Form):
    """A form built from `data.fields`; `output()` is `{name: value}`."""

    def __init__(self, data: Any = None, *, specs: list[dict[str, Any]]):
        super().__init__(data, prefix=OUTPUT_PREFIX)
        for spec in specs:
            self.fields[spec["name"]] = _form_field(spec)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        found = jsondata.problem(self.output_of(cleaned), path="output")
        if found is not None:
            name = found.path.split(".", 1)[-1].split("[", 1)[0]
            self.add_error(name if name in self.fields else None, found.message)
        return cleaned

    @staticmethod
    def output_of(cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            name: value.isoformat() if isinstance(value, date | datetime) else value
            for name, value in cleaned.items()
        }

    def output(self) -> dict[str, Any]:
        return self.output_of(self.cleaned_data)


class JSONOutputForm(forms.Form):
    """A UX node without `data.fields`: its output as a JSON document."""

    output = JSONTextField(
        path="output",
        required=False,
        label="Output (JSON)",
        help_text="Any JSON value; empty means null.",
    )

    def output_value(self) -> Any:
        return self.cleaned_data.get("output")


def output_form(fields: Any, data: Any = None, *, initial_output: Any = None) -> forms.Form:
    """The form that completes a UX node: from its `data.fields`, else JSON."""
    specs = field_specs(fields)
    if specs:
        return FieldsOutputForm(data, specs=specs)
    return JSONOutputForm(data, initial={"output": initial_output})


def form_output(form: forms.Form) -> Any:
    if isinstance(form, FieldsOutputForm):
        return form.output()
    assert isinstance(form, JSONOutputForm)
    return form.output_value()


# --- start a run (admin) ---------------------------------------------------------------
class StartRunForm(forms.Form):
    workflow = forms.ModelChoiceField(
        queryset=Flow.objects.none(),
        help_text="Runs start on the workflow's current version.",
    )
    input = JSONTextField(
        path="input",
        required=False,
        initial="{}",
        help_text="The run's input: a JSON document (empty means {}). "
        "Every entry node receives it.",
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any):
        super().__init__(*args, **kwargs)
        workflows = Flow.objects.filter(
            canvas_type=CanvasType.WORKFLOW, current_version__isnull=False
        ).select_related("owner")
        self.fields["workflow"].queryset = workflows.order_by("name")  # type: ignore[attr-defined]
        self.fields["workflow"].label_from_instance = _workflow_label  # type: ignore[attr-defined]
        # A search box (the Entity admin's search fields), not a list of every entity.
        self.fields["entity"] = forms.ModelChoiceField(
            queryset=Entity.objects.select_related("canvas"),
            required=False,
            widget=AutocompleteSelect(Run._meta.get_field("entity"), admin_site),
            help_text="Optional: the entity (customer, lead) this run is about; it must "
            "belong to the workflow's owner.",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        workflow, entity = cleaned.get("workflow"), cleaned.get("entity")
        if workflow and entity and entity.canvas.owner_id != workflow.owner_id:
            self.add_error("entity", "This entity belongs to another owner's canvas.")
        return cleaned


def _workflow_label(flow: Flow) -> str:
    return f"{flow.name} (owner {flow.owner.get_username()})"
