"""Files in storage, on local disk and on S3 (moto server): layout, fetching through
the returned URLs, ownership of those URLs, deletion and no orphans on failure."""

from __future__ import annotations

from typing import cast

import httpx
import pytest
from django.db import connection
from django.http import FileResponse
from rest_framework.test import APIClient

from media.models import Media
from media.services import media_thumbnail_make
from stitch.models import User
from tests.media import samples
from tests.media.conftest import StoredFiles, Upload

pytestmark = pytest.mark.django_db


def fetch(client: APIClient, url: str, storage: StoredFiles) -> tuple[int, bytes, str]:
    """GET a file URL the API handed out: the app for local files, S3 for presigned ones."""
    if storage.kind == "s3":
        response = httpx.get(url)
        return response.status_code, response.content, response.headers.get("content-type", "")
    reply = cast(FileResponse, client.get(url))
    return reply.status_code, reply.getvalue(), reply["Content-Type"]


def test_files_are_stored_under_user_type_and_a_unique_name(
    upload: Upload, storage: StoredFiles, owner: User
) -> None:
    first = upload(samples.png(), filename="My Photo (1).png", media_type="wireframe").json()
    second = upload(samples.png(), filename="My Photo (1).png", media_type="wireframe").json()
    paths = {Media.objects.get(pk=m["id"]).file_path for m in (first, second)}
    assert storage.keys() == paths
    for path in paths:
        user_id, media_type, name = path.split("/")
        assert (user_id, media_type) == (str(owner.id), "wireframe")
        assert name.endswith("-My_Photo_1.png")


def test_the_file_url_returns_the_uploaded_bytes_with_the_sniffed_type(
    upload: Upload, storage: StoredFiles, owner_client: APIClient
) -> None:
    content = samples.jpeg()
    body = upload(content, filename="photo.pdf", content_type="application/pdf").json()
    status, fetched, content_type = fetch(owner_client, body["url"], storage)
    assert status == 200
    assert fetched == content
    assert content_type == "image/jpeg"


def test_the_app_file_endpoint_serves_or_redirects_for_the_owner(
    upload: Upload, storage: StoredFiles, owner_client: APIClient
) -> None:
    body = upload(samples.pdf()).json()
    reply = owner_client.get(f"/api/media/{body['id']}/file/", HTTP_ACCEPT="application/pdf")
    if storage.kind == "s3":
        assert reply.status_code == 302
        assert httpx.get(reply["Location"]).content == samples.pdf()
    else:
        assert reply.status_code == 200
        assert cast(FileResponse, reply).getvalue() == samples.pdf()


def test_another_users_media_and_its_file_urls_are_404(
    upload: Upload, storage: StoredFiles, other_client: APIClient, anon_client: APIClient
) -> None:
    body = upload(samples.png()).json()
    for path in ("", "file/", "thumbnail/"):
        assert other_client.get(f"/api/media/{body['id']}/{path}").status_code == 404
        assert anon_client.get(f"/api/media/{body['id']}/{path}").status_code == 401
    assert other_client.patch(f"/api/media/{body['id']}/", {"name": "x"}).status_code == 404
    assert other_client.delete(f"/api/media/{body['id']}/").status_code == 404
    assert Media.objects.filter(pk=body["id"], name="upload.bin").exists()
    assert len(storage.keys()) == 1


def test_deleting_media_removes_its_files_after_commit(
    upload: Upload,
    storage: StoredFiles,
    owner_client: APIClient,
    django_capture_on_commit_callbacks,
) -> None:
    body = upload(samples.png()).json()
    media = Media.objects.get(pk=body["id"])
    thumb = media_thumbnail_make(media_id=media.pk)  # what the background job runs
    assert storage.keys() == {media.file_path, thumb}

    with django_capture_on_commit_callbacks(execute=True):
        reply = owner_client.delete(f"/api/media/{body['id']}/")
    assert reply.status_code == 204
    assert storage.keys() == set()
    assert owner_client.get(f"/api/media/{body['id']}/").status_code == 404


def test_a_failed_database_write_leaves_no_orphan_file(
    upload: Upload, storage: StoredFiles
) -> None:
    # A real failure inside PostgreSQL: a trigger that refuses every insert.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_media() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$;"
            "CREATE TRIGGER refuse_media BEFORE INSERT ON stitch_media "
            "FOR EACH ROW EXECUTE FUNCTION refuse_media();"
        )
    response = upload(samples.png())
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert storage.keys() == set()
    assert not Media.objects.exists()
