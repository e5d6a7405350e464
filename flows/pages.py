"""`/flows/{id}/edit/`: the canvas editor for canvas owners who need not be staff
(SPEC 11). The same editor and checks as the admin's Flow page; others' canvases 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from flows import services
from flows.editor import GraphFormMixin
from flows.graph import GraphInvalid
from flows.hierarchy import children, version_list
from flows.models import Flow


class FlowEditForm(GraphFormMixin, forms.ModelForm):
    class Meta:
        model = Flow
        fields = ["name", "graph"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.editor_setup(flow=self.instance, canvas_type=self.instance.canvas_type, admin=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "graph" in cleaned:
            self.graph_problems_check(
                graph=cleaned["graph"],
                canvas_type=self.instance.canvas_type,
                flow=self.instance,
                links=cleaned["graph"] != self.instance.graph,
            )
        return cleaned


@login_required
def flow_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    flow = get_object_or_404(Flow.objects.select_related("parent"), pk=pk, owner=request.user)
    stored = Flow.objects.get(pk=flow.pk)  # the form writes its input onto `flow`
    form = FlowEditForm(request.POST or None, instance=flow)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.flow_update(
                flow=stored, name=form.cleaned_data["name"], graph=form.cleaned_data["graph"]
            )
        except GraphInvalid as exc:  # a child went away between the check and the save
            form.graph_problems_show(exc.problems)
        else:
            version = saved.current_version
            note = f" — version {version.number}" if version else ""
            messages.success(request, f"Saved “{saved.name}”{note}.")
            return redirect("flow-edit", pk=saved.pk)
    context = {
        "flow": stored,
        "form": form,
        "children": children(stored),
        "versions": version_list(stored),
    }
    return render(request, "flows/edit.html", context)
