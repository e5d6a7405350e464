"""Bulk recovery endpoints (SPEC 7.6, 13): the filter, a JSON object of known keys, at
least one of them (a bad one is a 400 naming it), and the view that applies it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stitch import recovery
from stitch.models import User


class BulkFilterSerializer(serializers.Serializer):
    # since/until are a half-open window [since, until) on the model's `time_field`.
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    time_field = "created_at"

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"filter": ["must be a JSON object"]})
        known = ", ".join(self.fields)
        # An unknown (misspelt) key would otherwise widen the filter silently.
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: [f"unknown filter field; known: {known}"] for name in unknown}
            )
        value = dict(super().to_internal_value(data))
        if not value:
            raise serializers.ValidationError({"filter": [f"give at least one of {known}"]})
        since, until = value.get("since"), value.get("until")
        if since is not None and until is not None and until <= since:
            raise serializers.ValidationError({"until": ["until must be after since"]})
        return value

    def lookups(self) -> dict[str, Any]:
        """ORM lookups for the validated filter."""
        data = dict(self.validated_data)
        lookups = {name: data.pop(name) for name in list(data) if name not in ("since", "until")}
        if "since" in data:
            lookups[f"{self.time_field}__gte"] = data["since"]
        if "until" in data:
            lookups[f"{self.time_field}__lt"] = data["until"]
        return lookups

    def request_key(self) -> str:
        return recovery.request_key(dict(self.validated_data))


class BulkRecoveryView(APIView):
    """POST a filter, act on the caller's matching targets, answer with the counts.
    Subclasses name the filter and say what the targets are and what is done to them."""

    filter_class: type[BulkFilterSerializer]

    def targets(self, user: User, lookups: dict[str, Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def recover(self, user: User, targets: QuerySet[Any], request_key: str) -> dict[str, int]:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        body = self.filter_class(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated
        targets = self.targets(user, body.lookups())
        return Response(self.recover(user, targets, body.request_key()))
