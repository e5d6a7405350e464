from __future__ import annotations

from rest_framework import serializers

from media.models import Media


class MediaSerializer(serializers.ModelSerializer):
    class Meta:
        model = Media
        fields = [
            "id",
            "name",
            "description",
            "media_type",
            "file_path",
            "thumbnail_path",
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
