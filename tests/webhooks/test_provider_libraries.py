"""Deliveries signed by the providers' own libraries are accepted (stripe's test header
helper, svix's Webhook.sign), and what we sign (the admin's test event) passes their
verifiers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import stripe
import svix
from django.test import Client

from tests.webhooks.conftest import body_of, post, sample_payload
from webhooks import signatures
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]


def test_a_delivery_signed_with_the_stripe_sdk_is_accepted(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert config.secret
    body = body_of(sample_payload("stripe", marker="sdk"))
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), config.secret)
    response = post(Client(), config, body, {"Stripe-Signature": header})
    assert response.status_code == 202, response.content
    assert WebhookEvent.objects.get().provider_event_id == "evt_sdk"


def test_a_stripe_sdk_header_from_the_future_is_refused(make_config: MakeConfig) -> None:
    # The SDK's verifier checks only the past; SPEC 7.2 refuses the future as well.
    config = make_config("stripe")
    assert config.secret
    body = body_of(sample_payload("stripe"))
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), config.secret, timestamp=int(time.time()) + 400
    )
    response = post(Client(), config, body, {"Stripe-Signature": header})
    assert response.status_code == 401
    assert "future" in (WebhookEvent.objects.get().error or "")


def test_a_delivery_signed_with_svix_is_accepted(make_config: MakeConfig) -> None:
    config = make_config("standard")
    assert config.secret
    body = body_of(sample_payload("standard"))
    moment = datetime.now(tz=UTC)
    signature = svix.Webhook(config.secret).sign("msg_svix_1", moment, body.decode())
    headers = {
        "webhook-id": "msg_svix_1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }
    response = post(Client(), config, body, headers)
    assert response.status_code == 202, response.content
    assert WebhookEvent.objects.get().provider_event_id == "msg_svix_1"


@pytest.mark.parametrize("source", ["stripe", "calendly"])
def test_our_stripe_style_signature_passes_the_stripe_sdk(source: str) -> None:
    body = b'{"id": "evt_round_trip"}'
    headers = signatures.sign(source=source, secret="whsec_round", body=body, msg_id="m")
    (value,) = headers.values()
    assert stripe.WebhookSignature.verify_header(body, value, "whsec_round", tolerance=300)


def test_our_standard_signature_passes_svix() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"id": "evt_round_trip"}'
    headers = signatures.sign(source="standard", secret=secret, body=body, msg_id="msg_rt")
    svix.Webhook(secret).verify(body, headers)  # raises WebhookVerificationError if not
