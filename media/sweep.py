"""Removing stored files that no row names (SPEC 8: nothing left behind).

Orphans come from a process that died between writing a file and inserting its row,
from users deleted with their media (the rows go by cascade, their files stay), and
from a thumbnail job that died between its write and its update.

A file is removed only when, in one snapshot of the database: no Media row names it
(file or thumbnail), no upload of it is in flight (MediaUpload), and, for a thumbnail,
its original's row is not still waiting for one; and when it is older than the grace
period. A file in storage never becomes referenced later (uploads and thumbnails write
fresh names), so what the snapshot says stays true until the delete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import Storage
from django.db import connection
from django.utils import timezone

from media.models import MediaUpload
from media.storage import delete_files, media_storage

logger = logging.getLogger(__name__)

# An upload whose row never came after this long died with its process.
UPLOAD_ABANDONED_AFTER = timedelta(days=1)
BATCH = 500


def _walk(storage: Storage, directory: str = "") -> Iterator[str]:
    try:
        directories, files = storage.listdir(directory)
    except FileNotFoundError:  # nothing stored yet, or removed meanwhile
        return
    for name in files:
        yield f"{directory}/{name}" if directory else name
    for name in directories:
        yield from _walk(storage, f"{directory}/{name}" if directory else name)


# One statement, so one snapshot: an upload commits its row and drops its in-flight
# record atomically, and a thumbnail job sets `thumbnail_path` in one UPDATE; checking
# those in separate queries could see neither. Each probe is an index lookup
# (idx_stitch_media_file_path, idx_stitch_media_thumbnail_path, the unique path of
# stitch_media_uploads); the last one reads only rows still waiting for a thumbnail
# (thumbnail_path IS NULL, same index) whose file sits where this thumbnail's
# original would: `a/b/thumbnails/<stem>[_XXXXXXX].png` belongs to `a/b/<stem>.<ext>`
# (the storage adds a 7-character suffix when a name is taken).
UNREFERENCED_SQL = r"""
SELECT p FROM unnest(%(paths)s::text[]) AS p
WHERE NOT EXISTS (SELECT 1 FROM stitch_media m WHERE m.file_path = p)
  AND NOT EXISTS (SELECT 1 FROM stitch_media m WHERE m.thumbnail_path = p)
  AND NOT EXISTS (
    SELECT 1 FROM stitch_media_uploads u WHERE u.path = p AND u.started_at > %(abandoned)s
  )
  AND NOT (p ~ '/thumbnails/[^/]+\.png$' AND EXISTS (
    SELECT 1 FROM stitch_media m
    WHERE m.thumbnail_path IS NULL
      AND (starts_with(m.file_path, regexp_replace(p, '^(.*)/thumbnails/([^/]*)\.png$', '\1/\2.'))
        OR starts_with(
          m.file_path, regexp_replace(p, '^(.*)/thumbnails/([^/]*)_[A-Za-z0-9]{7}\.png$', '\1/\2.')
        ))
  ))
"""


def _unreferenced(paths: list[str], now: datetime) -> list[str]:
    """The paths that no row, in-flight upload or awaiting original protects."""
    with connection.cursor() as cursor:
        cursor.execute(
            UNREFERENCED_SQL, {"paths": paths, "abandoned": now - UPLOAD_ABANDONED_AFTER}
        )
        return [row[0] for row in cursor.fetchall()]


def media_orphans_sweep(*, grace: timedelta | None = None) -> list[str]:
    """Delete orphaned files older than `grace` (MEDIA_ORPHAN_GRACE_SECONDS); return them."""
    if grace is None:
        grace = timedelta(seconds=settings.MEDIA_ORPHAN_GRACE_SECONDS)
    storage, now, removed = media_storage(), timezone.now(), []
    batch: list[str] = []
    for path in _walk(storage):
        batch.append(path)
        if len(batch) == BATCH:
            removed += _sweep_batch(storage, batch, now - grace, now)
            batch = []
    if batch:
        removed += _sweep_batch(storage, batch, now - grace, now)
    MediaUpload.objects.filter(started_at__lte=now - UPLOAD_ABANDONED_AFTER).delete()
    if removed:
        logger.info("removed %d orphaned media files", len(removed))
    return removed


def _sweep_batch(storage: Storage, paths: list[str], cutoff: datetime, now: datetime) -> list[str]:
    old = []
    for path in _unreferenced(paths, now):
        try:
            if storage.get_modified_time(path) <= cutoff:
                old.append(path)
        except FileNotFoundError:
            continue
    delete_files(*old)
    return old
