"""PATCH /api/media/{id}/: editable fields, media_type kept compatible with the file."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from media.models import Media
from media.services import media_thumbnail_make, media_update
from tests.media import samples
from tests.media.conftest import Upload

pytestmark = pytest.mark.django_db


def test_owner_can_rename_retag_and_describe(upload: Upload, owner_client: APIClient) -> None:
    media_id = upload(samples.png(), tags="old").json()["id"]
    response = owner_client.patch(
        f"/api/media/{media_id}/",
        {"name": "New", "description": "Desc", "tags": ["a", "b"], "metadata": {"k": 1}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = owner_client.get(f"/api/media/{media_id}/").json()
    assert (body["name"], body["description"], body["tags"], body["metadata"]) == (
        "New",
        "Desc",
        ["a", "b"],
        {"k": 1},
    )


def test_patch_leaves_fields_it_does_not_name_alone(
    upload: Upload, owner_client: APIClient
) -> None:
    media_id = upload(samples.png(), tags="keep", description="stay").json()["id"]
    owner_client.patch(f"/api/media/{media_id}/", {"name": "renamed"}, format="multipart")
    media = Media.objects.get(pk=media_id)
    assert (media.name, media.tags, media.description) == ("renamed", ["keep"], "stay")


def test_an_image_can_become_a_style_reference_but_not_a_video(
    upload: Upload, owner_client: APIClient
) -> None:
    media_id = upload(samples.png()).json()["id"]
    ok = owner_client.patch(f"/api/media/{media_id}/", {"media_type": "style_reference"})
    assert ok.status_code == 200
    assert ok.json()["media_type"] == "style_reference"
    refused = owner_client.patch(f"/api/media/{media_id}/", {"media_type": "video"})
    assert refused.status_code == 400
    assert "media_type" in refused.json()
    assert Media.objects.get(pk=media_id).media_type == "style_reference"


@pytest.mark.parametrize(
    "change", [{"name": ""}, {"metadata": [1]}, {"tags": [1, 2]}, {"media_type": "x"}]
)
def test_bad_values_are_a_400_naming_the_field(
    upload: Upload, owner_client: APIClient, change: dict
) -> None:
    media_id = upload(samples.png()).json()["id"]
    response = owner_client.patch(f"/api/media/{media_id}/", change, format="json")
    assert response.status_code == 400
    assert set(change) <= set(response.json())


def test_an_update_does_not_undo_a_thumbnail_recorded_since_the_row_was_read(
    upload: Upload,
) -> None:
    media_id = upload(samples.png()).json()["id"]
    stale = Media.objects.get(pk=media_id)
    media_thumbnail_make(media_id=media_id)  # the job finishes between read and write
    media_update(media=stale, changes={"name": "renamed"})
    fresh = Media.objects.get(pk=media_id)
    assert fresh.name == "renamed"
    assert fresh.thumbnail_path is not None


def test_put_is_not_offered(upload: Upload, owner_client: APIClient) -> None:
    media_id = upload(samples.png()).json()["id"]
    assert owner_client.put(f"/api/media/{media_id}/", {"name": "n"}).status_code == 405
