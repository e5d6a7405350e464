"""Webhook settings and secrets that would weaken signature checks are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from stitch.models import User
from tests.webhooks.conftest import sample_payload, signed_post
from tests.webhooks.test_config_api import config_body
from webhooks.models import WebhookConfig

MakeConfig = Callable[..., WebhookConfig]


def settings_error(**env: str) -> str:
    """What start-up says with these variables (empty when it starts)."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "stitch.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stderr if result.returncode else ""


@pytest.mark.parametrize("value", ["-1", "-300", "0"])
def test_a_timestamp_tolerance_below_one_second_stops_start_up(value: str) -> None:
    error = settings_error(WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS=value)
    assert "WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS must be >= 1" in error


def test_a_positive_timestamp_tolerance_is_accepted() -> None:
    assert settings_error(WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS="600") == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "secret",
    ["whsec_AA", "whsec_QUJDREVGR0hJSktMTU5PUA==", "whsec_", "AA"],
    ids=["one-byte", "sixteen-bytes", "empty-key", "no-prefix-one-byte"],
)
def test_a_standard_secret_shorter_than_24_bytes_is_refused(
    owner: User, owner_client: APIClient, secret: str
) -> None:
    body = config_body(owner, source="standard", secret=secret)
    response = owner_client.post("/api/webhook-configs/", body, format="json")
    assert response.status_code == 400
    assert "24 bytes" in response.json()["secret"][0]
    assert not WebhookConfig.objects.exists()


@pytest.mark.django_db
def test_a_standard_secret_of_24_bytes_is_accepted(owner: User, owner_client: APIClient) -> None:
    body = config_body(owner, source="standard", secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    response = owner_client.post("/api/webhook-configs/", body, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["stripe", "standard", "calendly"])
def test_the_configured_tolerance_applies_to_every_timestamped_source(
    source: str, make_config: MakeConfig, settings: SettingsWrapper
) -> None:
    # 400 s is outside the libraries' own 300 s default and inside the configured 600 s.
    settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = 600
    config = make_config(source)
    for offset, status in [(-400, 202), (400, 202), (-700, 401), (700, 401)]:
        response = signed_post(
            Client(),
            config,
            sample_payload(source, marker=str(offset)),
            t=int(time.time()) + offset,
            msg_id=f"msg_{offset}",
        )
        assert response.status_code == status, (offset, response.content)
