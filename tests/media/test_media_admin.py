"""The media admin: thumbnails in the list and on the change page, filters by type and
tag, search, and the thumbnail/file views behind admin login."""

from __future__ import annotations

import pytest
from django.test import Client

from media.models import Media
from media.services import media_thumbnail_make
from stitch.models import User
from tests.factories import MediaFactory
from tests.media import samples
from tests.media.conftest import StoredFiles, Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def pictured(upload: Upload) -> Media:
    """An uploaded image whose thumbnail job has run."""
    media_id = upload(samples.png((800, 400)), name="Hero", tags="scene,hero").json()["id"]
    media_thumbnail_make(media_id=media_id)
    return Media.objects.get(pk=media_id)


def test_the_list_shows_thumbnails(admin_client: Client, pictured: Media) -> None:
    page = admin_client.get("/admin/media/media/").content.decode()
    assert f'src="/admin/media/media/{pictured.pk}/thumbnail/"' in page


def test_the_change_page_shows_the_thumbnail_and_a_file_link(
    admin_client: Client, pictured: Media
) -> None:
    page = admin_client.get(f"/admin/media/media/{pictured.pk}/change/").content.decode()
    assert f'<img src="/admin/media/media/{pictured.pk}/thumbnail/"' in page
    assert f'href="/admin/media/media/{pictured.pk}/file/"' in page


def test_admin_thumbnail_and_file_views_stream_for_staff_only(
    admin_client: Client, client: Client, pictured: Media
) -> None:
    thumb = admin_client.get(f"/admin/media/media/{pictured.pk}/thumbnail/")
    assert (thumb.status_code, thumb["Content-Type"]) == (200, "image/png")
    assert admin_client.get(f"/admin/media/media/{pictured.pk}/file/").status_code == 200
    anonymous = client.get(f"/admin/media/media/{pictured.pk}/file/")
    assert anonymous.status_code == 302  # to the admin login


def test_filters_by_media_type_and_tag_and_search(admin_client: Client, owner: User) -> None:
    MediaFactory.create(user=owner, name="alpha", tags=["scene", "hero"])
    MediaFactory.create(user=owner, name="beta", tags=["brand"])
    MediaFactory.create(user=owner, name="gamma", media_type="video", mime_type="video/mp4")

    def listed(query: str) -> set[str]:
        response = admin_client.get(f"/admin/media/media/{query}")
        assert response.status_code == 200
        return {m.name for m in response.context["cl"].result_list}

    sidebar = admin_client.get("/admin/media/media/").content.decode()
    assert "?tag=brand" in sidebar and "?tag=hero" in sidebar
    assert listed("?tag=hero") == {"alpha"}
    assert listed("?media_type__exact=video") == {"gamma"}
    assert listed("?q=bet") == {"beta"}


def test_admin_edit_refuses_a_media_type_that_does_not_fit(
    admin_client: Client, pictured: Media
) -> None:
    url = f"/admin/media/media/{pictured.pk}/change/"
    form = {"name": "Hero", "description": "", "tags": "scene", "metadata": "{}"}
    refused = admin_client.post(url, {**form, "media_type": "audio"})
    assert refused.status_code == 200
    assert "does not fit" in refused.content.decode()
    accepted = admin_client.post(url, {**form, "media_type": "wireframe"})
    assert accepted.status_code == 302
    assert Media.objects.get(pk=pictured.pk).media_type == "wireframe"


def test_admin_delete_removes_the_files(
    admin_client: Client,
    pictured: Media,
    local_storage: StoredFiles,
    django_capture_on_commit_callbacks,
) -> None:
    assert len(local_storage.keys()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/media/media/{pictured.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert local_storage.keys() == set()
