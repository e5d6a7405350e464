"""`{% canvas_svg flow %}`: the canvas graph with its entities, for admin pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from entities.models import Entity
from entities.picture import canvas_picture
from flows.hierarchy import children
from flows.models import Flow

register = template.Library()

# Drawing more dots than this helps nobody on an overview picture.
MAX_DOTS = 500


def admin_link(flow_id: str) -> str:
    return reverse("admin:flows_flow_change", args=[flow_id])


@register.inclusion_tag("entities/canvas_picture.html")
def canvas_svg(flow: Flow) -> dict[str, Any]:
    """The picture, its geometry for the page script, and drill-down links to the
    children's admin pages."""
    entities = Entity.objects.filter(canvas=flow).order_by("created_at")[:MAX_DOTS]
    kids = {str(child.pk) for child in children(flow)}
    return {"picture": canvas_picture(flow, entities, children=kids, link=admin_link)}
