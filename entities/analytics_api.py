"""`GET /api/flows/{id}/analytics/?since=&until=` (owner only)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.analytics import canvas_analytics
from flows.models import Flow


def parse_instant(name: str, raw: str | None) -> datetime | None:
    """An ISO 8601 datetime or date (naive means UTC); 400 naming the parameter else."""
    if raw is None or raw == "":
        return None
    # An unencoded "+01:00" offset arrives as " 01:00" after query-string decoding.
    text = raw.strip().replace(" ", "+") if "T" in raw else raw.strip()
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            value = datetime.combine(day, time.min) if day else None
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: [f"{name} must be an ISO 8601 datetime, got {raw!r}"]})
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class FlowAnalyticsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="events from (incl.)"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="events before"),
        ],
        responses=OpenApiTypes.OBJECT,
        description="Per node: now here, arrivals, completions, median seconds spent; per "
        "edge: travelling now, starts, arrivals at its target, conversion.",
    )
    def get(self, request: Request, pk: Any) -> Response:
        canvas = get_object_or_404(Flow.objects.only("id", "graph"), pk=pk, owner=request.user)
        since = parse_instant("since", request.query_params.get("since"))
        until = parse_instant("until", request.query_params.get("until"))
        if since and until and until < since:
            raise ValidationError({"until": ["until must not be before since"]})
        return Response(canvas_analytics(canvas=canvas, since=since, until=until))
