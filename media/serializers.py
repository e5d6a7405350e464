"""Validate and shape media requests/responses. Serializers never save: views call
media.services with `validated_data`."""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from media.models import Media, MediaType
from media.storage import media_url
from stitch import jsondata

MAX_TAGS = 50
MAX_TAG_LENGTH = 64


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsField(serializers.Field):
    """Tags as a JSON list, a repeated multipart field (`tags=a&tags=b`), a JSON
    list in one form field (`tags=["a","b"]`) or a comma list (`tags=a,b`)."""

    default_error_messages = {
        "invalid": "Give tags as a list of strings, a JSON list or a comma-separated list.",
        "too_many": f"At most {MAX_TAGS} tags.",
        "too_long": f"Each tag has at most {MAX_TAG_LENGTH} characters.",
    }

    def get_value(self, dictionary: Any) -> Any:
        name = self.field_name or ""
        if isinstance(dictionary, QueryDict):
            if name not in dictionary:
                return empty
            values = dictionary.getlist(name)
            return values[0] if len(values) == 1 else values
        return dictionary.get(name, empty)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = self._parse_string(data)
        if not isinstance(data, list) or not all(isinstance(tag, str) for tag in data):
            self.fail("invalid")
        tags: list[str] = []
        for raw in data:
            tag = raw.strip()
            if "\x00" in tag:
                self.fail("invalid")
            if len(tag) > MAX_TAG_LENGTH:
                self.fail("too_long")
            if tag and tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            self.fail("too_many")
        return tags

    def _parse_string(self, text: str) -> Any:
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except ValueError:
                self.fail("invalid")
        return stripped.split(",") if stripped else []

    def to_representation(self, value: Any) -> list[str]:
        return list(value)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object, given as JSON in the body or as a JSON string in a form field."""

    default_error_messages = {
        "invalid": "Must be a JSON object.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = jsondata.loads(data, path=self.field_name or "") if data.strip() else {}
            except jsondata.JSONDataError as exc:
                raise serializers.ValidationError(str(exc)) from exc
        if not isinstance(data, dict):
            self.fail("invalid")
        # What PostgreSQL's jsonb cannot store (NUL, lone surrogates, ...) is a 400 here.
        found = jsondata.problem(data, path=self.field_name or "")
        if found is not None:
            raise serializers.ValidationError(str(found))
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    media_type = serializers.ChoiceField(choices=MediaType.choices, required=False)
    tags = TagsField(required=False)
    metadata = JSONObjectField(required=False)


class MediaUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False, allow_blank=False)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    media_type = serializers.ChoiceField(choices=MediaType.choices, required=False)
    tags = TagsField(required=False)
    metadata = JSONObjectField(required=False)


class MediaSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    # A JSON number of seconds (DecimalField would render a string).
    duration = serializers.FloatField(read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    metadata = serializers.JSONField(read_only=True)

    class Meta:
        model = Media
        fields = [
            "id",
            "name",
            "description",
            "media_type",
            "url",
            "thumbnail_url",
            "file_size",
            "mime_type",
            "width",
            "height",
            "duration",
            "tags",
            "metadata",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, media: Media) -> str | None:
        return media_url(media, "file", request=self.context.get("request"))

    def get_thumbnail_url(self, media: Media) -> str | None:
        return media_url(media, "thumbnail", request=self.context.get("request"))
