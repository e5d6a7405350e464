"""Standard Webhooks: the specification's own worked example must verify (clock pinned to
the example's timestamp), and a byte changed anywhere must not."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import CanvasFactory, FlowFactory, WebhookConfigFactory
from tests.webhooks.conftest import post
from webhooks import signatures
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def config(owner: object) -> WebhookConfig:
    canvas = CanvasFactory.create(owner=owner)
    return WebhookConfigFactory.create(
        canvas=canvas,
        workflow=FlowFactory.create(owner=owner),
        source="standard",
        secret=SECRET,
    )


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signatures, "now", lambda: float(TIMESTAMP))


def headers(**overrides: str) -> dict[str, str]:
    values = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": SIGNATURE,
    }
    values.update(overrides)
    return values


def test_the_documented_example_is_accepted(config: WebhookConfig, pinned_clock: None) -> None:
    response = post(Client(), config, BODY, headers())
    assert response.status_code == 202, response.content
    event = WebhookEvent.objects.get()
    assert event.provider_event_id == MSG_ID
    assert event.payload == {"test": 2432232314}


def test_the_example_is_refused_once_the_window_has_passed(config: WebhookConfig) -> None:
    # The real clock is years past 1614265330.
    response = post(Client(), config, BODY, headers())
    assert response.status_code == 401
    assert "old" in (WebhookEvent.objects.get().error or "")


@pytest.mark.parametrize(
    "changed",
    [
        {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJeL"},
        {"webhook-timestamp": str(TIMESTAMP + 1)},
        # One bit of the digest flipped. (Changing the last character to "F" would not
        # do: those bits are base64 padding, and the library compares decoded bytes.)
        {"webhook-signature": "v1,g1hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
        {"webhook-signature": "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
    ],
)
def test_a_changed_header_breaks_the_example(
    config: WebhookConfig, pinned_clock: None, changed: dict[str, str]
) -> None:
    assert post(Client(), config, BODY, headers(**changed)).status_code == 401


def test_a_changed_body_breaks_the_example(config: WebhookConfig, pinned_clock: None) -> None:
    assert post(Client(), config, b'{"test": 2432232315}', headers()).status_code == 401
