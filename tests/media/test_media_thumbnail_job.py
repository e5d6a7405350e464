"""The thumbnail job: deferred with the upload, run by the procrastinate worker, shown
on the row once ready (longest side 320 px), on local disk and on S3."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import cast

import httpx
import pytest
from django.db import connection
from django.http import FileResponse
from PIL import Image
from rest_framework.test import APIClient

from media import services
from media.models import Media
from media.services import media_thumbnail_make
from tests.media import samples
from tests.media.conftest import StoredFiles, Upload

pytestmark = pytest.mark.django_db(transaction=True)


def thumbnail_bytes(client: APIClient, url: str, storage: StoredFiles) -> bytes:
    if storage.kind == "s3":
        return httpx.get(url).content
    reply = cast(FileResponse, client.get(url, HTTP_ACCEPT="image/*"))
    assert reply.status_code == 200
    assert reply["Content-Type"] == "image/png"
    return reply.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (samples.png((1280, 720)), (320, 180)),
        (samples.jpeg((400, 1000)), (128, 320)),
        (samples.gif((50, 30)), (50, 30)),  # never scaled up
    ],
    ids=["landscape-png", "portrait-jpeg", "small-gif"],
)
def test_the_job_makes_a_thumbnail_at_most_320px_and_the_row_shows_it(
    upload: Upload,
    run_jobs: Callable[..., None],
    storage: StoredFiles,
    owner_client: APIClient,
    content: bytes,
    expected: tuple[int, int],
) -> None:
    body = upload(content).json()
    assert body["thumbnail_url"] is None
    run_jobs()
    body = owner_client.get(f"/api/media/{body['id']}/").json()
    assert body["thumbnail_url"]
    with Image.open(io.BytesIO(thumbnail_bytes(owner_client, body["thumbnail_url"], storage))) as t:
        assert t.size == expected
    assert len(storage.keys()) == 2


def media_jobs() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'media'")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.django_db  # no worker needed: the plain (faster) test database
def test_one_job_is_queued_per_image_and_none_for_other_files(upload: Upload) -> None:
    before = media_jobs()
    upload(samples.pdf())
    upload(samples.wav())
    assert media_jobs() == before
    upload(samples.png())
    assert media_jobs() == before + 1


@pytest.mark.django_db  # no worker needed: the plain (faster) test database
def test_a_refused_upload_queues_no_job(upload: Upload) -> None:
    before = media_jobs()
    assert upload(samples.png(), media_type="video").status_code == 400
    assert media_jobs() == before


def test_a_job_for_media_deleted_meanwhile_leaves_no_file(
    upload: Upload, run_jobs: Callable[..., None], local_storage: StoredFiles, owner_client
) -> None:
    media_id = upload(samples.png()).json()["id"]
    assert owner_client.delete(f"/api/media/{media_id}/").status_code == 204
    run_jobs()
    assert local_storage.keys() == set()


@pytest.mark.django_db  # no worker needed: the plain (faster) test database
def test_running_the_job_twice_keeps_one_thumbnail(
    upload: Upload, local_storage: StoredFiles
) -> None:
    media_id = upload(samples.png()).json()["id"]
    first = media_thumbnail_make(media_id=media_id)
    assert first is not None
    assert media_thumbnail_make(media_id=media_id) is None
    assert Media.objects.get(pk=media_id).thumbnail_path == first
    assert len(local_storage.keys()) == 2


def test_an_undecodable_image_gets_no_thumbnail_and_no_retry(
    upload: Upload, run_jobs: Callable[..., None]
) -> None:
    # A PNG header (so it is sniffed and sized) followed by garbage pixels.
    broken = samples.png((64, 64))[:60] + b"garbage" * 20
    media_id = upload(broken).json()["id"]
    run_jobs()
    assert Media.objects.get(pk=media_id).thumbnail_path is None
    # Succeeded jobs are deleted; a failed attempt would have left a retry behind.
    assert media_jobs() == 0


@pytest.mark.django_db  # no worker needed: the plain (faster) test database
def test_media_deleted_while_its_thumbnail_renders_leaves_no_file(
    upload: Upload,
    local_storage: StoredFiles,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    import media.services

    media_id = upload(samples.png()).json()["id"]
    render = media.services._render_thumbnail

    def render_then_lose_the_race(file_path: str) -> bytes | None:
        png = render(file_path)
        with django_capture_on_commit_callbacks(execute=True):
            media.services.media_delete(media=Media.objects.get(pk=media_id))
        return png

    monkeypatch.setattr(media.services, "_render_thumbnail", render_then_lose_the_race)
    assert media_thumbnail_make(media_id=media_id) is None
    assert local_storage.keys() == set()


def test_thumbnail_decodes_are_bounded_per_process(
    upload: Upload, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MEDIA_THUMBNAIL_CONCURRENCY = 2
    ids = [upload(samples.png((900, 600))).json()["id"] for _ in range(6)]
    active, peak, lock = 0, 0, threading.Lock()
    decode = services._png_thumbnail

    def watched(stored):  # the real decode, counted
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            time.sleep(0.05)  # long enough for the other threads to pile up
            return decode(stored)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(services, "_png_thumbnail", watched)

    def make(media_id: str) -> None:
        try:
            media_thumbnail_make(media_id=media_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(media_id,)) for media_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert peak == 2
    assert Media.objects.filter(pk__in=ids, thumbnail_path__isnull=False).count() == 6
