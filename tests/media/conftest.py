"""Storage fixtures: every media test runs on a private local directory, and the
storage tests also on S3 (moto in server mode on 127.0.0.1, driven through
django-storages exactly as production would be)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

S3_REGION = "us-east-1"
S3_KEYS = {"access_key": "testing", "secret_key": "testing"}


class StoredFiles:
    """What is physically in the storage, independent of Django's storage API."""

    def __init__(self, kind: str, root: Path | None = None, bucket: Any = None):
        self.kind, self._root, self._bucket = kind, root, bucket

    def keys(self) -> set[str]:
        if self._bucket is not None:
            return {obj.key for obj in self._bucket.objects.all()}
        assert self._root is not None
        return {str(p.relative_to(self._root)) for p in self._root.rglob("*") if p.is_file()}

    def read(self, key: str) -> bytes:
        if self._bucket is not None:
            body: bytes = self._bucket.Object(key).get()["Body"].read()
            return body
        assert self._root is not None
        return (self._root / key).read_bytes()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _use_local(settings: SettingsWrapper, root: Path) -> StoredFiles:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return StoredFiles("local", root=root)


def _use_s3(settings: SettingsWrapper, endpoint: str) -> StoredFiles:
    name = f"media-{uuid.uuid4().hex[:12]}"
    resource = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEYS["access_key"],
        aws_secret_access_key=S3_KEYS["secret_key"],
    )
    bucket = resource.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": endpoint,
                "region_name": S3_REGION,
                **S3_KEYS,
                "querystring_auth": True,
                "file_overwrite": True,
            },
        },
    }
    return StoredFiles("s3", bucket=bucket)


@pytest.fixture(autouse=True)
def local_storage(settings: SettingsWrapper, tmp_path: Path) -> StoredFiles:
    """Every media test stores files in a fresh temporary directory (never var/media);
    the `storage` fixture below switches a test to its parameter instead."""
    return _use_local(settings, tmp_path / "media")


@pytest.fixture(params=["local", "s3"])
def storage(
    request: pytest.FixtureRequest, settings: SettingsWrapper, tmp_path: Path
) -> StoredFiles:
    """Parametrised over local disk and S3 (moto server)."""
    if request.param == "s3":
        return _use_s3(settings, request.getfixturevalue("s3_endpoint"))
    return _use_local(settings, tmp_path / "media")


Upload = Callable[..., Any]


@pytest.fixture
def upload(owner_client: APIClient) -> Upload:
    """POST a file to /api/media/ as the owner; returns the response."""

    def post(
        content: bytes,
        filename: str = "upload.bin",
        content_type: str = "application/octet-stream",
        client: APIClient | None = None,
        **fields: Any,
    ) -> Any:
        file = SimpleUploadedFile(filename, content, content_type=content_type)
        return (client or owner_client).post(
            "/api/media/", {"file": file, **fields}, format="multipart"
        )

    return post
