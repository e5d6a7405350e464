"""The filter of a bulk recovery endpoint (SPEC 7.6, 13): a JSON object of known keys,
at least one of them; a bad one is a 400 naming it. Subclasses declare the fields."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from stitch import recovery


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
