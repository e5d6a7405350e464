"""`POST /api/runs/retry-failed/` (SPEC 13): retry every failed node of the caller's
failed runs matching a filter, each run at most once per identical call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from flows import services
from flows.models import Run
from stitch.bulk_api import BulkFilterSerializer, BulkRecoveryView
from stitch.models import User


class RetryFilterSerializer(BulkFilterSerializer):
    flow_id = serializers.UUIDField(required=False)


class RetriedSerializer(serializers.Serializer):
    retried = serializers.IntegerField(help_text="Failed runs retried by this call.")
    nodes = serializers.IntegerField(help_text="Failed nodes fired again.")


@extend_schema_view(
    post=extend_schema(
        operation_id="runs_retry_failed",
        request=RetryFilterSerializer,
        responses={200: RetriedSerializer},
        description="Retry every failed node of your failed runs matching the filter (at "
        "least one of flow_id, since, until; since/until on the run's created_at). An "
        "identical call within BULK_IDEMPOTENCY_SECONDS retries only runs it did not "
        "retry before.",
    )
)
class RunsRetryFailedView(BulkRecoveryView):
    filter_class = RetryFilterSerializer

    def targets(self, user: User, lookups: dict[str, Any]) -> QuerySet[Run]:
        return Run.objects.filter(flow__owner=user, **lookups)

    def recover(self, user: User, targets: QuerySet[Any], request_key: str) -> dict[str, int]:
        done = services.runs_retry_failed(actor=user, runs=targets, request_key=request_key)
        return {"retried": done.runs, "nodes": done.nodes}
