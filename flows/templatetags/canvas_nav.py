"""`{% canvas_breadcrumbs flow "live" %}`: the path up to the root canvas, each step
linking to the same kind of page (`admin`, `live` or `edit`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from flows.hierarchy import ancestors
from flows.models import Flow

register = template.Library()

PAGES = {"admin": "admin:flows_flow_change", "live": "flow-live", "edit": "flow-edit"}


def page_url(kind: str, flow_id: Any) -> str:
    return reverse(PAGES[kind], args=[flow_id])


@register.inclusion_tag("flows/breadcrumbs.html")
def canvas_breadcrumbs(flow: Flow, kind: str) -> dict[str, Any]:
    crumbs = [(f.name, page_url(kind, f.pk)) for f in ancestors(flow)]
    return {"crumbs": crumbs, "current": flow.name}
