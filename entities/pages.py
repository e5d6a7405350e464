"""The live canvas page `/flows/{id}/live/` (SPEC section 11)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from entities.models import Entity, JourneyEvent
from entities.picture import canvas_picture
from flows.hierarchy import children
from flows.models import Flow

RECENT_EVENTS = 30


@login_required
def flow_live(request: HttpRequest, pk: Any) -> HttpResponse:
    """Server-drawn picture and recent events; the page script then follows the socket."""
    flow = get_object_or_404(Flow, pk=pk, owner=request.user)
    entities = list(Entity.objects.filter(canvas=flow).order_by("created_at"))
    events = (
        JourneyEvent.objects.filter(canvas=flow)
        .select_related("entity")
        .order_by("-timestamp", "-id")[:RECENT_EVENTS]
    )
    kids = children(flow)
    picture = canvas_picture(flow, entities, children={str(c.pk) for c in kids}, link=live_link)
    context = {
        "flow": flow,
        "picture": picture,
        "events": events,
        "geometry": picture["geometry"],
        "children": kids,
    }
    return render(request, "flows/live.html", context)


def live_link(flow_id: Any) -> str:
    return reverse("flow-live", args=[flow_id])
