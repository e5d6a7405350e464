"""The orphan sweep (media.sweep): files no row names are removed, on local disk and S3;
a file whose row is being inserted right now never is."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from media import services
from media.models import Media, MediaUpload
from media.storage import media_storage
from media.sweep import media_orphans_sweep
from stitch.models import User
from tests.factories import UserFactory
from tests.media import samples
from tests.media.conftest import StoredFiles, Upload

NOW = timedelta(0)


def stray(path: str) -> str:
    return media_storage().save(path, ContentFile(b"left behind"))


@pytest.mark.django_db
def test_a_file_without_a_row_is_removed_and_named_files_are_kept(
    upload: Upload, storage: StoredFiles
) -> None:
    kept = Media.objects.get(pk=upload(samples.png()).json()["id"])
    services.media_thumbnail_make(media_id=kept.pk)
    kept.refresh_from_db()
    orphan = stray("someone/image/dead-upload.png")
    assert media_orphans_sweep(grace=NOW) == [orphan]
    assert storage.keys() == {kept.file_path, kept.thumbnail_path}


@pytest.mark.django_db
def test_an_upload_that_died_before_its_insert_is_cleaned_up(storage: StoredFiles) -> None:
    path = stray("someone/image/crashed.png")
    MediaUpload.objects.create(path=path, started_at=timezone.now() - timedelta(days=2))
    assert media_orphans_sweep(grace=NOW) == [path]
    assert storage.keys() == set()
    assert not MediaUpload.objects.exists()


@pytest.mark.django_db
def test_an_upload_in_flight_is_left_alone(storage: StoredFiles) -> None:
    path = stray("someone/image/being-uploaded.png")
    MediaUpload.objects.create(path=path)
    assert media_orphans_sweep(grace=NOW) == []
    assert storage.keys() == {path}


@pytest.mark.django_db
def test_a_young_orphan_waits_for_the_grace_period(local_storage: StoredFiles) -> None:
    path = stray("someone/image/just-now.png")
    assert media_orphans_sweep(grace=timedelta(hours=1)) == []
    assert local_storage.keys() == {path}


@pytest.mark.django_db
def test_the_files_of_a_deleted_user_are_removed(
    upload: Upload, owner: User, local_storage: StoredFiles
) -> None:
    media = Media.objects.get(pk=upload(samples.png()).json()["id"])
    services.media_thumbnail_make(media_id=media.pk)
    mine = UserFactory.create()
    survivor = services.media_create(
        user=mine, file=ContentFile(samples.png()), filename="keep.png", size=len(samples.png())
    )
    owner.delete()  # rows go by cascade, files stay behind
    removed = media_orphans_sweep(grace=NOW)
    assert len(removed) == 2
    assert local_storage.keys() == {survivor.file_path}


@pytest.mark.django_db
def test_a_thumbnail_still_awaited_by_its_row_is_kept_and_a_stale_one_removed(
    upload: Upload, local_storage: StoredFiles
) -> None:
    media = Media.objects.get(pk=upload(samples.png()).json()["id"])
    directory, name = media.file_path.rsplit("/", 1)
    written = stray(f"{directory}/thumbnails/{name.rsplit('.', 1)[0]}.png")  # job mid-way
    assert media_orphans_sweep(grace=NOW) == []
    services.media_thumbnail_make(media_id=media.pk)  # a second run wins the update
    media.refresh_from_db()
    assert media.thumbnail_path != written
    assert media_orphans_sweep(grace=NOW) == [written]
    assert local_storage.keys() == {media.file_path, media.thumbnail_path}


UPLOADS = 15


@pytest.mark.django_db(transaction=True)
def test_a_sweep_racing_uploads_never_removes_a_file_whose_row_is_being_inserted(
    local_storage: StoredFiles,
) -> None:
    user = UserFactory.create()
    done = threading.Event()
    errors: list[BaseException] = []

    def uploads() -> None:
        try:
            for index in range(UPLOADS):
                content = samples.png((8 + index, 8))
                services.media_create(
                    user=user, file=ContentFile(content), filename=f"{index}.png", size=len(content)
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    thread = threading.Thread(target=uploads)
    thread.start()
    sweeps = 0
    while not done.is_set() or sweeps == 0:
        media_orphans_sweep(grace=NOW)  # no grace: only the in-flight record protects
        sweeps += 1
    thread.join(timeout=60)
    assert errors == []
    rows = set(Media.objects.values_list("file_path", flat=True))
    assert len(rows) == UPLOADS
    assert rows <= local_storage.keys()
    assert not MediaUpload.objects.exists()
