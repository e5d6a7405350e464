"""`{% canvas_svg flow %}`: the canvas graph with its entities, for admin pages."""

from __future__ import annotations

from typing import Any

from django import template

from entities.models import Entity
from entities.picture import canvas_picture
from flows.models import Flow

register = template.Library()

# Drawing more dots than this helps nobody on an overview picture.
MAX_DOTS = 500


@register.inclusion_tag("entities/canvas_svg.html")
def canvas_svg(flow: Flow) -> dict[str, Any]:
    entities = Entity.objects.filter(canvas=flow).order_by("created_at")[:MAX_DOTS]
    return {"picture": canvas_picture(flow, entities)}
