"""The storage block of settings: local disk unless MEDIA_S3_BUCKET is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PRINT_STORAGE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps(settings.STORAGES['default'], default=str))"
)


def default_storage_with(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_STORAGE],
        env={**clean, "DJANGO_SETTINGS_MODULE": "stitch.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_files_go_to_local_disk_by_default() -> None:
    storage = default_storage_with({"MEDIA_ROOT": "/srv/media"})
    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert storage["OPTIONS"]["location"] == "/srv/media"


def test_a_bucket_switches_storage_to_s3_with_presigned_urls() -> None:
    storage = default_storage_with(
        {
            "MEDIA_S3_BUCKET": "stitch-media",
            "MEDIA_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "MEDIA_S3_REGION": "eu-west-1",
            "MEDIA_S3_ACCESS_KEY_ID": "key",
            "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
            "MEDIA_S3_URL_EXPIRE_SECONDS": "600",
        }
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "stitch-media"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert (options["access_key"], options["secret_key"]) == ("key", "secret")
    assert (options["querystring_auth"], options["querystring_expire"]) == (True, 600)
