"""Writes to the media library: create (file + row), update, delete, thumbnail.

Order of work for a new file: inspect it, write it to storage (outside any
transaction: S3 is a network call), then insert the row and defer the thumbnail
job in one transaction. If the insert fails the file is deleted again, so a
failed database write never leaves an orphan file behind.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps

from media.errors import MediaRejected
from media.models import Media, MediaUpload
from media.probe import Probe, family_of, probe_file, resolve_media_type
from media.storage import delete_files, media_file_path, media_storage, thumbnail_path_for
from stitch import logs
from stitch.models import User

logger = logging.getLogger(__name__)

UPDATABLE_FIELDS = ("name", "description", "media_type", "tags", "metadata")


def media_create(
    *,
    user: User,
    file: IO[bytes],
    filename: str,
    size: int,
    name: str | None = None,
    description: str | None = None,
    media_type: str | None = None,
    tags: Sequence[str] = (),
    metadata: dict[str, Any] | None = None,
) -> Media:
    """Store `file` for `user`; raise MediaRejected (400/413/415) for a refused file.

    Call it outside any transaction: the storage write may be a network call, and
    only an outermost transaction tells us for sure that the row was committed.
    """
    check_size(size)
    probe = probe_file(file)
    resolved_type = resolve_media_type(probe, media_type)
    path = media_file_path(
        user_id=user.pk, media_type=resolved_type, filename=filename, extension=probe.extension
    )
    filename = filename.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    # Committed before the write: the orphan sweep leaves this path alone until the row
    # exists (the intent goes in the row's own transaction).
    intent = MediaUpload.objects.create(path=path)
    stored_path: str | None = None
    try:
        stored_path = _store(file, path=path, mime_type=probe.mime_type)
        with transaction.atomic():
            MediaUpload.objects.filter(pk=intent.pk).delete()
            media = Media.objects.create(
                user=user,
                name=(name or filename or stored_path.rsplit("/", 1)[-1])[:255],
                description=description,
                media_type=resolved_type,
                file_path=stored_path,
                file_size=size,
                mime_type=probe.mime_type,
                width=probe.width,
                height=probe.height,
                duration=probe.duration,
                tags=list(tags),
                metadata=metadata or {},
            )
            if probe.width is not None:
                _defer_thumbnail(media.pk)
    except BaseException:
        delete_files(stored_path)
        MediaUpload.objects.filter(pk=intent.pk).delete()
        raise
    return media


def _store(file: IO[bytes], *, path: str, mime_type: str) -> str:
    content = File(file, name=path)
    # S3Storage takes the object's Content-Type from here; the client's claim
    # (an UploadedFile's content_type) must not leak through.
    content.content_type = mime_type  # type: ignore[attr-defined]
    return media_storage().save(path, content)


def check_size(size: int) -> None:
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    if size > limit:
        raise MediaRejected("file", f"File is larger than the {limit}-byte limit.", 413)


def _defer_thumbnail(media_id: uuid.UUID) -> None:
    # Imported here: media.tasks imports this module for the job body.
    from media.tasks import media_thumbnail

    # Deferred on Django's connection, i.e. inside the caller's transaction: the
    # job exists if and only if the row does; it carries the request's id.
    media_thumbnail.defer(**logs.job_kwargs({"media_id": str(media_id)}))


def media_update(*, media: Media, changes: dict[str, Any]) -> Media:
    """Apply validated `changes` (a subset of UPDATABLE_FIELDS)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise MediaRejected(sorted(unknown)[0], "This field cannot be changed.")
    if "media_type" in changes:
        changes["media_type"] = media_type_check(media, changes["media_type"])
    for field, value in changes.items():
        setattr(media, field, value)
    # update_fields, not a full save: the thumbnail job may set thumbnail_path
    # between our read and this write, and a full save would put it back to NULL.
    media.save(update_fields=[*changes, "updated_at"])
    return media


def media_type_check(media: Media, requested: str) -> str:
    """`requested` if it fits the stored file's MIME family, else MediaRejected (400)."""
    family = family_of(media.mime_type or "")
    if family is None:  # a row made outside the API with an odd MIME type
        return requested
    return resolve_media_type(Probe(media.mime_type or "", "", family), requested)


def media_delete(*, media: Media) -> None:
    """Delete the row now and its files once the deletion has committed."""
    with transaction.atomic():
        # Lock the row so a thumbnail job finishing right now either commits its
        # thumbnail_path before we read it (and we delete that file) or finds the
        # row gone afterwards (and deletes its own file): no orphan either way.
        locked = Media.objects.select_for_update().filter(pk=media.pk).first()
        if locked is None:
            return
        paths = (locked.file_path, locked.thumbnail_path)
        locked.delete()
        transaction.on_commit(lambda: delete_files(*paths))


def media_thumbnail_make(*, media_id: uuid.UUID | str) -> str | None:
    """Render the thumbnail (longest side MEDIA_THUMBNAIL_SIZE px) and record it.

    Returns the stored thumbnail path, or None when there is nothing to do (row
    gone, thumbnail already made, or the image cannot be decoded).
    """
    row = Media.objects.filter(pk=media_id).values("file_path", "thumbnail_path").first()
    if row is None or row["thumbnail_path"]:
        return None
    try:
        png = _render_thumbnail(row["file_path"])
    except FileNotFoundError:
        return None  # deleted between the query above and the read
    if png is None:
        return None
    content = ContentFile(png, name="thumbnail.png")
    content.content_type = "image/png"  # type: ignore[attr-defined]
    stored = media_storage().save(thumbnail_path_for(row["file_path"]), content)
    # Conditional UPDATE (takes the row lock): if the row was deleted meanwhile, or a
    # second run of this job got there first, nothing changes and our copy goes.
    updated = Media.objects.filter(pk=media_id, thumbnail_path__isnull=True).update(
        thumbnail_path=stored, updated_at=timezone.now()
    )
    if not updated:
        delete_files(stored)
        return None
    return stored


_decode_slots: dict[int, threading.BoundedSemaphore] = {}
_decode_slots_lock = threading.Lock()


def _decode_slot() -> threading.BoundedSemaphore:
    """At most MEDIA_THUMBNAIL_CONCURRENCY decodes at once in this process: a 50 MP
    image takes ~200 MB decoded, and a worker runs WORKER_CONCURRENCY jobs at once."""
    limit = settings.MEDIA_THUMBNAIL_CONCURRENCY
    with _decode_slots_lock:
        return _decode_slots.setdefault(limit, threading.BoundedSemaphore(limit))


def _render_thumbnail(file_path: str) -> bytes | None:
    with media_storage().open(file_path, "rb") as stored, _decode_slot():
        try:
            return _png_thumbnail(stored)
        except FileNotFoundError:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            # Undecodable (corrupt or exotic) images keep no thumbnail; retrying
            # would fail the same way, so this is not an error of the job.
            logger.warning("no thumbnail for %s: %s", file_path, exc)
            return None


def _png_thumbnail(stored: IO[bytes]) -> bytes:
    size = settings.MEDIA_THUMBNAIL_SIZE
    with Image.open(stored) as image:
        # Uploads were checked already; checked again in case the cap was lowered.
        if image.width * image.height > settings.MEDIA_MAX_IMAGE_PIXELS:
            raise Image.DecompressionBombError(f"{image.size} exceeds the pixel cap")
        image.draft("RGB", (size, size))  # JPEG: let libjpeg decode at reduced scale
        thumb = ImageOps.exif_transpose(image)
        thumb.thumbnail((size, size))
        if thumb.mode not in ("RGB", "RGBA", "L", "LA"):
            thumb = thumb.convert("RGBA")
        out = io.BytesIO()
        thumb.save(out, format="PNG", optimize=True)
    return out.getvalue()
