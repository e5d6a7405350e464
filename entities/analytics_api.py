"""Canvas analytics endpoints (owner only; others' canvases are 404):

- `GET /api/flows/{id}/analytics/?since=&until=`
- `GET /api/flows/{id}/analytics/funnel/?steps=a,b,c&within=7d&since=&until=`
- `GET /api/flows/{id}/analytics/series/?bucket=hour|day|week&since=&until=`

Every parameter that cannot be used is a 400 naming it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.analytics import BUCKETS, canvas_analytics, canvas_funnel, canvas_series
from entities.services import canvas_graph_ids
from flows.models import Flow

MAX_STEPS = 20
DEFAULT_WITHIN = timedelta(days=30)
MAX_WITHIN = timedelta(days=3650)
_DURATION = re.compile(r"(\d{1,10})([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

SINCE = OpenApiParameter("since", OpenApiTypes.DATETIME, description="events from (incl.)")
UNTIL = OpenApiParameter("until", OpenApiTypes.DATETIME, description="events before")


def _refuse(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]})


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
        raise _refuse(name, f"{name} must be an ISO 8601 datetime, got {raw!r}")
    try:
        # In UTC: Python takes offsets up to 23:59, PostgreSQL only up to 15:59.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise _refuse(name, f"{name} is outside years 1-9999 in UTC, got {raw!r}") from None


def parse_window(request: Request) -> tuple[datetime | None, datetime | None]:
    since = parse_instant("since", request.query_params.get("since"))
    until = parse_instant("until", request.query_params.get("until"))
    if since and until and until < since:
        raise _refuse("until", "until must not be before since")
    return since, until


def parse_within(raw: str | None) -> timedelta:
    """Seconds (`3600`) or a number with a unit: `30m`, `12h`, `7d`, `2w`."""
    if raw is None or raw.strip() == "":
        return DEFAULT_WITHIN
    match = _DURATION.fullmatch(raw.strip().lower())
    if match is None:
        raise _refuse("within", f"within must be seconds or like 30m, 12h, 7d; got {raw!r}")
    seconds = int(match[1]) * _UNITS[match[2]]
    if seconds <= 0 or seconds > MAX_WITHIN.total_seconds():
        raise _refuse("within", f"within must be more than 0 and at most {MAX_WITHIN.days}d")
    return timedelta(seconds=seconds)


def parse_steps(raw: str | None, canvas: Flow) -> list[str]:
    """Comma-separated node ids of the canvas, in funnel order (repeats allowed)."""
    steps = [] if raw is None else [step.strip() for step in raw.split(",")]
    if not steps or steps == [""]:
        raise _refuse("steps", "steps is required: node ids separated by commas")
    if "" in steps:
        raise _refuse("steps", "steps must not contain an empty node id")
    if len(steps) > MAX_STEPS:
        raise _refuse("steps", f"at most {MAX_STEPS} steps")
    nodes = set(canvas_graph_ids(canvas)[0])
    unknown = [step for step in steps if step not in nodes]
    if unknown:
        raise _refuse("steps", f"not nodes of this canvas: {', '.join(map(repr, unknown))}")
    return steps


def parse_bucket(raw: str | None) -> str:
    bucket = (raw or "day").strip().lower()
    if bucket not in BUCKETS:
        raise _refuse("bucket", f"bucket must be one of {', '.join(BUCKETS)}; got {raw!r}")
    return bucket


def owned_canvas(request: Request, pk: Any) -> Flow:
    return get_object_or_404(Flow.objects.only("id", "graph"), pk=pk, owner=request.user)


class FlowAnalyticsView(APIView):
    @extend_schema(
        parameters=[SINCE, UNTIL],
        responses=OpenApiTypes.OBJECT,
        description="Per node: now here, arrivals, completions, median and p90 seconds "
        "spent; per edge: travelling now, starts, arrivals at its target, conversion.",
    )
    def get(self, request: Request, pk: Any) -> Response:
        canvas = owned_canvas(request, pk)
        since, until = parse_window(request)
        return Response(canvas_analytics(canvas=canvas, since=since, until=until))


class FlowFunnelView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("steps", str, required=True, description="node ids, a,b,c"),
            OpenApiParameter("within", str, description="seconds, or 30m/12h/7d (default 30d)"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="first step from"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="first step before"),
        ],
        responses=OpenApiTypes.OBJECT,
        description="Entities that reached the steps in that order, each step within "
        "`within` of the first: per step entered, conversion from the previous and the "
        "first step, median seconds from the previous step.",
    )
    def get(self, request: Request, pk: Any) -> Response:
        canvas = owned_canvas(request, pk)
        steps = parse_steps(request.query_params.get("steps"), canvas)
        within = parse_within(request.query_params.get("within"))
        since, until = parse_window(request)
        return Response(
            canvas_funnel(canvas=canvas, steps=steps, within=within, since=since, until=until)
        )


class FlowSeriesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("bucket", str, enum=list(BUCKETS), description="default day"),
            SINCE,
            UNTIL,
        ],
        responses=OpenApiTypes.OBJECT,
        description="Arrivals per node per bucket (UTC): "
        '`{"buckets": [{"start", "nodes": {node_id: n}}]}`, every bucket of the window.',
    )
    def get(self, request: Request, pk: Any) -> Response:
        canvas = owned_canvas(request, pk)
        bucket = parse_bucket(request.query_params.get("bucket"))
        since, until = parse_window(request)
        return Response(canvas_series(canvas=canvas, bucket=bucket, since=since, until=until))
