from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from stitch.models import TimestampedModel


class MediaType(models.TextChoices):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    WIREFRAME = "wireframe"
    STYLE_REFERENCE = "style_reference"
    DOCUMENT = "document"


class Media(TimestampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.TextField()
    description = models.TextField(null=True, blank=True)
    media_type = models.TextField(choices=MediaType.choices)
    file_path = models.TextField()
    thumbnail_path = models.TextField(null=True, blank=True)
    file_size = models.IntegerField(null=True, blank=True)
    mime_type = models.TextField(null=True, blank=True)
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    duration = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    tags = ArrayField(models.TextField(), default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "stitch_media"
        ordering = ["-created_at"]
        verbose_name_plural = "media"
        indexes = [
            models.Index(fields=["user"], name="idx_stitch_media_user_id"),
            models.Index(fields=["media_type"], name="idx_stitch_media_media_type"),
            # `tag=a&tag=b` filters use array containment (@>), which GIN serves.
            GinIndex(fields=["tags"], name="idx_stitch_media_tags"),
            models.Index(fields=["-created_at"], name="idx_stitch_media_created_at"),
            # The orphan sweep asks, for each stored file, whether a row names it.
            models.Index(fields=["file_path"], name="idx_stitch_media_file_path"),
            models.Index(fields=["thumbnail_path"], name="idx_stitch_media_thumbnail_path"),
        ]

    def __str__(self) -> str:
        return self.name


class MediaUpload(models.Model):
    """A file being written to storage whose row is not committed yet.

    Recorded (and committed) before the write, deleted in the transaction that inserts
    the Media row: the orphan sweep (media.sweep) never removes a file that has either,
    and checks both in one snapshot, so it cannot catch an upload between the two. A
    process that dies mid-upload leaves this row; the sweep removes it with the file
    once it is old enough (UPLOAD_ABANDONED_AFTER).
    """

    path = models.TextField(unique=True)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "stitch_media_uploads"

    def __str__(self) -> str:
        return self.path
