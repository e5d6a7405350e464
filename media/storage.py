"""Where media files live and how clients reach them.

Everything goes through Django's default storage: local disk (FileSystemStorage
under var/media) or S3 through django-storages, chosen in settings. Local files
are streamed by the app at owner-checked URLs; S3 files are handed out as
presigned URLs so the bytes never pass through the app.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Literal

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import get_valid_filename
from storages.backends.s3 import S3Storage

from media.models import Media

FileKind = Literal["file", "thumbnail"]
_MAX_STEM = 80


def media_storage() -> Storage:
    # default_storage follows settings.STORAGES (and override_settings in tests).
    return default_storage


def uses_presigned_urls(storage: Storage | None = None) -> bool:
    return isinstance(storage or media_storage(), S3Storage)


def safe_stem(filename: str) -> str:
    """A filesystem- and URL-safe stem of the client's filename (extension dropped:
    the stored one comes from the sniffed type, never from the client)."""
    stem = PurePosixPath(filename.replace("\\", "/")).name.rsplit(".", 1)[0]
    try:
        cleaned = get_valid_filename(stem)
    except Exception:  # SuspiciousFileOperation for names like "." or ".."
        cleaned = ""
    return cleaned[:_MAX_STEM] or "file"


def media_file_path(*, user_id: uuid.UUID, media_type: str, filename: str, extension: str) -> str:
    """`{user_id}/{media_type}/{uuid}-{safe name}`; the uuid keeps keys unique."""
    return f"{user_id}/{media_type}/{uuid.uuid4()}-{safe_stem(filename)}.{extension}"


def thumbnail_path_for(file_path: str) -> str:
    """Thumbnail key beside the original: `{dir}/thumbnails/{uuid}-{name}.png`."""
    path = PurePosixPath(file_path)
    return str(path.parent / "thumbnails" / f"{path.stem}.png")


def media_url(media: Media, kind: FileKind, *, request: HttpRequest | None = None) -> str | None:
    """URL a client can fetch the file (or thumbnail) from, or None when there is none."""
    path = media.file_path if kind == "file" else media.thumbnail_path
    if not path:
        return None
    if uses_presigned_urls():
        return presigned_url(path)
    return app_url(media, kind, request=request)


def presigned_url(path: str) -> str:
    return media_storage().url(path)


def app_url(media: Media, kind: FileKind, *, request: HttpRequest | None = None) -> str:
    route = reverse(f"media-{kind}", kwargs={"pk": media.pk})
    if request is not None:
        return request.build_absolute_uri(route)
    return f"{settings.PUBLIC_BASE_URL}{route}"


def delete_files(*paths: str | None) -> None:
    """Remove stored files, ignoring ones already gone (deletes are idempotent)."""
    storage = media_storage()
    for path in paths:
        if path:
            storage.delete(path)


def file_response(media: Media, kind: FileKind) -> HttpResponseBase:
    """Stream a local file (the caller checked access), or redirect to a presigned URL."""
    path = media.file_path if kind == "file" else media.thumbnail_path
    if not path:
        raise Http404("This media has no thumbnail (yet).")
    if uses_presigned_urls():
        return HttpResponseRedirect(presigned_url(path))
    try:
        handle = media_storage().open(path, "rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    content_type = (media.mime_type if kind == "file" else "image/png") or ""
    response = FileResponse(handle, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = f'inline; filename="{path.rsplit("/", 1)[-1]}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
