"""`POST /api/runs/retry-failed/` (SPEC 13): retry every failed node of the caller's
failed runs matching a filter, each run at most once per identical call."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flows import services
from flows.models import Run
from stitch.bulk_api import BulkFilterSerializer
from stitch.models import User


class RetryFilterSerializer(BulkFilterSerializer):
    flow_id = serializers.UUIDField(required=False)


class RetriedSerializer(serializers.Serializer):
    retried = serializers.IntegerField(help_text="Failed runs retried by this call.")
    nodes = serializers.IntegerField(help_text="Failed nodes fired again.")


class RunsRetryFailedView(APIView):
    @extend_schema(
        request=RetryFilterSerializer,
        responses={200: RetriedSerializer},
        description="Retry every failed node of your failed runs matching the filter (at "
        "least one of flow_id, since, until; since/until on the run's created_at). An "
        "identical call within BULK_IDEMPOTENCY_SECONDS retries only runs it did not "
        "retry before.",
    )
    def post(self, request: Request) -> Response:
        body = RetryFilterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated
        runs = Run.objects.filter(flow__owner=user, **body.lookups())
        done = services.runs_retry_failed(actor=user, runs=runs, request_key=body.request_key())
        return Response({"retried": done.runs, "nodes": done.nodes})
