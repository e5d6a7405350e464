"""Operators' admin for the media library: thumbnails in the list and on the change
page, filters by type and tag. Uploads go through the API (they need sniffing,
storage and the thumbnail job), so the admin edits and deletes only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from media import services
from media.errors import MediaRejected
from media.models import Media, MediaUpload
from media.storage import FileKind, file_response, presigned_url, uses_presigned_urls

_MAX_TAG_CHOICES = 200


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # unnest() + DISTINCT over the array column; capped so a huge tag
        # vocabulary cannot make the sidebar unusable.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT tag FROM stitch_media, unnest(tags) AS tag ORDER BY tag LIMIT %s",
                [_MAX_TAG_CHOICES],
            )
            return [(row[0], row[0]) for row in cursor.fetchall()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(tags__contains=[value]) if value else queryset


class MediaAdminForm(forms.ModelForm):
    class Meta:
        model = Media
        fields = ["name", "description", "media_type", "tags", "metadata"]

    def clean_media_type(self) -> str:
        requested = self.cleaned_data["media_type"]
        try:
            return services.media_type_check(self.instance, requested)
        except MediaRejected as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    form = MediaAdminForm
    list_display = [
        "preview",
        "name",
        "media_type",
        "mime_type",
        "file_size",
        "dimensions",
        "user",
        "created_at",
    ]
    list_display_links = ["preview", "name"]
    list_filter = ["media_type", TagFilter, "mime_type"]
    search_fields = ["name", "description", "user__username"]
    list_select_related = ["user"]
    fields = [
        "large_preview",
        "file_link",
        "name",
        "description",
        "media_type",
        "tags",
        "metadata",
        "user",
        "mime_type",
        "file_size",
        "width",
        "height",
        "duration",
        "file_path",
        "thumbnail_path",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "large_preview",
        "file_link",
        "user",
        "mime_type",
        "file_size",
        "width",
        "height",
        "duration",
        "file_path",
        "thumbnail_path",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<uuid:object_id>/file/",
                self.admin_site.admin_view(self.serve_file),
                name="media_media_file",
            ),
            path(
                "<uuid:object_id>/thumbnail/",
                self.admin_site.admin_view(self.serve_thumbnail),
                name="media_media_thumbnail",
            ),
        ]
        return own + super().get_urls()

    def serve_file(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        return self._serve(request, object_id, "file")

    def serve_thumbnail(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        return self._serve(request, object_id, "thumbnail")

    def _serve(self, request: HttpRequest, object_id: str, kind: FileKind) -> HttpResponseBase:
        media = self.get_object(request, object_id)
        if media is None or not self.has_view_permission(request, media):
            raise Http404("No such media.")
        return file_response(media, kind)

    def _src(self, media: Media, kind: FileKind) -> str:
        path = media.file_path if kind == "file" else media.thumbnail_path
        if uses_presigned_urls() and path:
            return presigned_url(path)
        return reverse(f"admin:media_media_{kind}", args=[media.pk])

    @admin.display(description="preview")
    def preview(self, media: Media) -> str:
        if not media.thumbnail_path:
            return "—"
        return format_html(
            '<img src="{}" alt="" style="max-width:80px;max-height:80px" loading="lazy">',
            self._src(media, "thumbnail"),
        )

    @admin.display(description="thumbnail")
    def large_preview(self, media: Media) -> str:
        if not media.thumbnail_path:
            return "No thumbnail (not an image, or not made yet)."
        return format_html('<img src="{}" alt="">', self._src(media, "thumbnail"))

    @admin.display(description="file")
    def file_link(self, media: Media) -> str:
        return format_html('<a href="{}">open {}</a>', self._src(media, "file"), media.name)

    @admin.display(description="size (px)")
    def dimensions(self, media: Media) -> str:
        return f"{media.width} x {media.height}" if media.width and media.height else ""

    def save_model(self, request: HttpRequest, obj: Media, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.media_update(media=obj, changes=changes)

    def delete_model(self, request: HttpRequest, obj: Media) -> None:
        services.media_delete(media=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Media]) -> None:
        for media in queryset:
            services.media_delete(media=media)


@admin.register(MediaUpload)
class MediaUploadAdmin(admin.ModelAdmin):
    """Uploads whose row is not committed yet (a stale one is a crashed upload, which
    the hourly orphan sweep clears). Read-only: the upload path owns these rows."""

    list_display = ["path", "started_at"]
    search_fields = ["path"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
