"""POST /api/media/: what gets recorded for each kind of file, and what is refused."""

from __future__ import annotations

import json

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from media.models import Media
from tests.media import samples
from tests.media.conftest import StoredFiles, Upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("content", "mime", "media_type", "size", "duration"),
    [
        (samples.png((640, 480)), "image/png", "image", (640, 480), None),
        (samples.jpeg((400, 1000)), "image/jpeg", "image", (400, 1000), None),
        (samples.gif((50, 30)), "image/gif", "image", (50, 30), None),
        (samples.pdf(), "application/pdf", "document", (None, None), None),
        (samples.wav(seconds=1.5), "audio/x-wav", "audio", (None, None), 1.5),
        (samples.mp4(seconds=3), "video/mp4", "video", (None, None), 3.0),
        (samples.webm(), "video/webm", "video", (None, None), None),
    ],
    ids=["png", "jpeg", "gif", "pdf", "wav", "mp4", "webm"],
)
def test_each_media_kind_is_stored_with_what_can_be_read_from_it(
    upload: Upload, content: bytes, mime: str, media_type: str, size: tuple, duration: float | None
) -> None:
    response = upload(content, filename="sample.bin")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mime_type"] == mime
    assert body["media_type"] == media_type
    assert (body["width"], body["height"]) == size
    assert body["duration"] == duration
    assert body["file_size"] == len(content)
    assert body["name"] == "sample.bin"
    assert body["url"].endswith(f"/api/media/{body['id']}/file/")
    assert body["thumbnail_url"] is None  # made later by the background job


def test_a_png_named_pdf_and_claimed_as_pdf_is_stored_as_an_image(
    upload: Upload, local_storage: StoredFiles
) -> None:
    response = upload(samples.png(), filename="report.pdf", content_type="application/pdf")
    assert response.status_code == 201
    body = response.json()
    assert (body["mime_type"], body["media_type"]) == ("image/png", "image")
    media = Media.objects.get(pk=body["id"])
    # The stored name takes the sniffed extension, never the claimed one.
    assert media.file_path.endswith("-report.png")
    assert local_storage.keys() == {media.file_path}


def test_an_upload_over_the_limit_is_refused_with_413(
    upload: Upload, settings: SettingsWrapper, local_storage: StoredFiles
) -> None:
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    response = upload(samples.png())  # about 2 KB
    assert response.status_code == 413
    assert "file" in response.json()
    assert local_storage.keys() == set()
    assert not Media.objects.exists()


def test_a_body_declared_far_over_the_limit_is_refused_before_parsing(
    owner_client, settings: SettingsWrapper
) -> None:
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    response = owner_client.generic(
        "POST",
        "/api/media/",
        data=b"x" * (2 * 1024 * 1024),
        content_type="multipart/form-data; boundary=nothing",
    )
    assert response.status_code == 413
    assert "file" in response.json()


@pytest.mark.parametrize(
    "content",
    [b"just some text, not media\n" * 10, samples.zip_archive(), b"<svg xmlns='x'></svg>"],
    ids=["text", "zip", "svg"],
)
def test_anything_but_image_video_audio_or_pdf_is_refused_with_415(
    upload: Upload, content: bytes, local_storage: StoredFiles
) -> None:
    response = upload(content, filename="innocent.png", content_type="image/png")
    assert response.status_code == 415
    assert "file" in response.json()
    assert local_storage.keys() == set()


def test_a_decompression_bomb_is_refused_with_400_naming_the_file(
    upload: Upload, local_storage: StoredFiles
) -> None:
    response = upload(samples.png_bomb(100_000, 100_000), filename="tiny.png")
    assert response.status_code == 400
    assert "too large to decode" in response.json()["file"][0]
    assert local_storage.keys() == set()


def test_an_image_over_the_pixel_cap_is_refused(upload: Upload, settings: SettingsWrapper) -> None:
    settings.MEDIA_MAX_IMAGE_PIXELS = 100 * 100
    assert upload(samples.png((101, 100))).status_code == 400
    assert upload(samples.png((100, 100))).status_code == 201


@pytest.mark.parametrize("media_type", ["wireframe", "style_reference", "image"])
def test_an_image_may_be_filed_as_any_image_type(upload: Upload, media_type: str) -> None:
    response = upload(samples.png(), media_type=media_type)
    assert response.status_code == 201
    assert response.json()["media_type"] == media_type


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(samples.pdf(), "wireframe"), (samples.png(), "video"), (samples.wav(), "document")],
)
def test_a_media_type_that_does_not_fit_the_file_is_a_400(
    upload: Upload, content: bytes, media_type: str, local_storage: StoredFiles
) -> None:
    response = upload(content, media_type=media_type)
    assert response.status_code == 400
    assert "media_type" in response.json()
    assert local_storage.keys() == set()


def test_an_unknown_media_type_is_a_400(upload: Upload) -> None:
    response = upload(samples.png(), media_type="hologram")
    assert response.status_code == 400
    assert "media_type" in response.json()


def test_name_description_tags_and_metadata_are_recorded(upload: Upload) -> None:
    response = upload(
        samples.png(),
        filename="x.png",
        name="Mountain",
        description="A serene landscape",
        tags=["scene", "hero"],
        metadata=json.dumps({"source": "minimax", "scene_index": 0}),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Mountain"
    assert body["description"] == "A serene landscape"
    assert body["tags"] == ["scene", "hero"]
    assert body["metadata"] == {"source": "minimax", "scene_index": 0}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("a, b ,c", ["a", "b", "c"]),
        ('["a", "b"]', ["a", "b"]),
        ("solo", ["solo"]),
        ("a,a,b,", ["a", "b"]),
    ],
)
def test_tags_may_be_a_comma_list_or_a_json_list(
    upload: Upload, given: str, expected: list[str]
) -> None:
    response = upload(samples.gif(), tags=given)
    assert response.status_code == 201
    assert response.json()["tags"] == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metadata", "[1, 2]"),
        ("metadata", "{not json"),
        ("metadata", json.dumps({"a": "nul\x00byte"})),
        ("tags", "[1, 2]"),
        ("tags", '["unclosed"'),
        ("tags", "x" * 65),
    ],
)
def test_malformed_fields_are_a_400_naming_the_field(
    upload: Upload, field: str, value: str, local_storage: StoredFiles
) -> None:
    response = upload(samples.gif(), **{field: value})
    assert response.status_code == 400
    assert field in response.json()
    assert local_storage.keys() == set()


def test_an_empty_or_missing_file_is_a_400(owner_client, upload: Upload) -> None:
    assert "file" in upload(b"").json()
    response = owner_client.post("/api/media/", {"name": "nothing"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_anonymous_uploads_are_refused(anon_client, upload: Upload) -> None:
    response = upload(samples.png(), client=anon_client)
    assert response.status_code == 401
    assert not Media.objects.exists()


def test_the_thumbnail_job_carries_the_uploading_request_s_id(owner_client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from procrastinate.contrib.django.models import ProcrastinateJob

    file = SimpleUploadedFile("a.png", samples.png(), content_type="image/png")
    answer = owner_client.post(
        "/api/media/", {"file": file}, format="multipart", HTTP_X_REQUEST_ID="trace-7"
    )
    assert answer.status_code == 201, answer.json()
    [job] = ProcrastinateJob.objects.filter(task_name="media.thumbnail")
    assert job.args == {"media_id": answer.json()["id"], "_request_id": "trace-7"}
