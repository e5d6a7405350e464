"""Signature verification per source (SPEC 7.2): valid deliveries are accepted; every
kind of bad one is refused with 401 and logged as a failed attempt that claims no
provider event id."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.test import Client

from tests.webhooks.conftest import (
    SIGNERS,
    body_of,
    post,
    sample_payload,
    signed_post,
    standard_headers,
)
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db

SOURCES = ["stripe", "standard", "typeform", "calendly", "generic"]
TIMESTAMPED = ["stripe", "standard", "calendly"]
HEADER = {
    "stripe": "Stripe-Signature",
    "standard": "webhook-signature",
    "typeform": "Typeform-Signature",
    "calendly": "Calendly-Webhook-Signature",
    "generic": "X-Webhook-Signature",
}

MakeConfig = Callable[..., WebhookConfig]


def sign(source: str, secret: str, body: bytes, t: int | None = None) -> dict[str, str]:
    if source == "standard":
        return standard_headers(secret, body, t=t, msg_id="msg_sig")
    return SIGNERS[source](secret, body, t=t)


def assert_refused_and_logged(response: object, config: WebhookConfig) -> WebhookEvent:
    assert response.status_code == 401, response.content  # type: ignore[attr-defined]
    assert "signature" in response.json()["detail"].lower()  # type: ignore[attr-defined]
    event = WebhookEvent.objects.get(webhook_config=config)
    assert event.status == "failed"
    assert event.accepted is False
    assert event.provider_event_id is None
    assert event.error and event.error.startswith("signature")
    return event


@pytest.mark.parametrize("source", SOURCES)
def test_it_accepts_a_validly_signed_delivery(source: str, make_config: MakeConfig) -> None:
    config = make_config(source)
    response = signed_post(Client(), config, sample_payload(source))
    assert response.status_code == 202, response.content
    event = WebhookEvent.objects.get(webhook_config=config)
    assert response.json() == {"event_id": str(event.id), "status": "pending"}
    assert event.accepted and event.payload["customer"]["name"] == "Ada Lovelace"


@pytest.mark.parametrize("source", SOURCES)
def test_it_refuses_a_signature_made_with_another_secret(
    source: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    body = body_of(sample_payload(source))
    other_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUA==" if source == "standard" else "nope"
    response = post(Client(), config, body, sign(source, other_secret, body))
    assert_refused_and_logged(response, config)


@pytest.mark.parametrize("source", SOURCES)
def test_it_refuses_a_modified_body(source: str, make_config: MakeConfig) -> None:
    config = make_config(source)
    assert config.secret
    body = body_of(sample_payload(source))
    headers = sign(source, config.secret, body)
    tampered = body.replace(b"pro", b"enterprise")
    response = post(Client(), config, tampered, headers)
    event = assert_refused_and_logged(response, config)
    assert event.payload["plan"] == "enterprise"  # the attempt is kept for the audit trail


@pytest.mark.parametrize("source", SOURCES)
def test_it_refuses_a_body_reserialised_differently(source: str, make_config: MakeConfig) -> None:
    config = make_config(source)
    assert config.secret
    payload = sample_payload(source)
    headers = sign(source, config.secret, body_of(payload))
    response = post(Client(), config, body_of(payload).replace(b":  ", b":"), headers)
    assert_refused_and_logged(response, config)


@pytest.mark.parametrize("source", TIMESTAMPED)
# 30 s past the window: a slow machine between signing and verifying must not
# bring a "future" stamp back inside it.
@pytest.mark.parametrize("offset", [-330, 330], ids=["stale", "future"])
def test_it_refuses_a_timestamp_outside_five_minutes(
    source: str, offset: int, make_config: MakeConfig
) -> None:
    config = make_config(source)
    assert config.secret
    body = body_of(sample_payload(source))
    headers = sign(source, config.secret, body, t=int(time.time()) + offset)
    response = post(Client(), config, body, headers)
    event = assert_refused_and_logged(response, config)
    assert "old" in (event.error or "") or "future" in (event.error or "")


@pytest.mark.parametrize("source", TIMESTAMPED)
def test_it_accepts_a_timestamp_inside_the_window(source: str, make_config: MakeConfig) -> None:
    config = make_config(source)
    response = signed_post(Client(), config, sample_payload(source), t=int(time.time()) - 250)
    assert response.status_code == 202


@pytest.mark.parametrize("source", SOURCES)
def test_it_refuses_a_delivery_without_the_signature_header(
    source: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    assert config.secret
    body = body_of(sample_payload(source))
    headers = sign(source, config.secret, body)
    del headers[HEADER[source]]
    response = post(Client(), config, body, headers)
    assert_refused_and_logged(response, config)


MALFORMED = {
    "stripe": ["garbage", "t=abc,v1=00", "v1=deadbeef", "t=1,t=2,v1=00", "t=,v1="],
    "standard": ["garbage", "v1", "v1,", "v1,@@@not-base64@@@"],
    "typeform": ["garbage", "sha1=abc", "sha256="],
    "calendly": ["garbage", "t=abc,v1=00", "v1=deadbeef"],
    "generic": ["garbage", "md5=abc", "sha256="],
}


@pytest.mark.parametrize(
    ("source", "value"),
    [(source, value) for source, values in MALFORMED.items() for value in values],
)
def test_it_refuses_a_malformed_signature_header(
    source: str, value: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    assert config.secret
    body = body_of(sample_payload(source))
    headers = sign(source, config.secret, body)
    headers[HEADER[source]] = value
    response = post(Client(), config, body, headers)
    assert_refused_and_logged(response, config)


def test_any_of_several_stripe_v1_signatures_may_match(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert config.secret
    body = body_of(sample_payload("stripe"))
    good = sign("stripe", config.secret, body)["Stripe-Signature"]
    t, v1 = good.split(",")
    header = f"{t},v1={'0' * 64},{v1},v0=ignored"
    response = post(Client(), config, body, {"Stripe-Signature": header})
    assert response.status_code == 202


def test_standard_accepts_one_valid_signature_among_several(make_config: MakeConfig) -> None:
    config = make_config("standard")
    assert config.secret
    body = body_of(sample_payload("standard"))
    headers = sign("standard", config.secret, body)
    headers["webhook-signature"] = "v1,Zm9vYmFy " + headers["webhook-signature"]
    assert post(Client(), config, body, headers).status_code == 202


@pytest.mark.parametrize("source", SOURCES)
def test_an_unsigned_delivery_is_accepted_without_secret_when_not_required(
    source: str, make_config: MakeConfig
) -> None:
    config = make_config(source, secret=None, require_signature=False)
    response = post(Client(), config, body_of(sample_payload(source)))
    assert response.status_code == 202


def test_an_unsigned_delivery_is_refused_when_a_signature_is_required(
    make_config: MakeConfig,
) -> None:
    config = make_config("generic", secret=None, require_signature=True)
    response = post(Client(), config, body_of(sample_payload("generic")))
    assert_refused_and_logged(response, config)


def test_a_config_with_a_secret_requires_a_signature_even_if_not_required(
    make_config: MakeConfig,
) -> None:
    config = make_config("generic", require_signature=False)
    response = post(Client(), config, body_of(sample_payload("generic")))
    assert_refused_and_logged(response, config)


def test_a_forged_copy_does_not_block_the_real_delivery(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe", marker="real")
    body = body_of(payload)
    forged = post(Client(), config, body, sign("stripe", "attacker", body))
    assert forged.status_code == 401
    real = signed_post(Client(), config, payload)
    assert real.status_code == 202
    assert WebhookEvent.objects.get(accepted=True).provider_event_id == "evt_real"


def test_a_refused_delivery_keeps_only_the_first_64_kib_of_its_body(
    make_config: MakeConfig,
) -> None:
    config = make_config("stripe")
    body = body_of(sample_payload("stripe") | {"padding": "x" * 900_000})
    response = post(Client(), config, body, {"Stripe-Signature": "t=1,v1=00"})
    event = assert_refused_and_logged(response, config)
    assert event.payload["truncated"] is True
    assert event.payload["size"] == len(body)
    assert len(event.payload["excerpt"].encode()) == 64 * 1024
    assert body.decode().startswith(event.payload["excerpt"])


def test_a_small_refused_delivery_is_kept_whole(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    payload = sample_payload("stripe")
    response = post(Client(), config, body_of(payload), {"Stripe-Signature": "t=1,v1=00"})
    assert assert_refused_and_logged(response, config).payload == payload
