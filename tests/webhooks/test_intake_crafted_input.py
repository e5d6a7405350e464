"""Crafted input at the intake (SPEC 7.1, 7.2): bodies the database cannot store are a
400 naming the body, crafted signature headers a 401 like any other bad signature,
never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from tests.webhooks.conftest import SIGNERS, body_of, post, sample_payload
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]

# Each passes str.isdigit() or float() somewhere and used to break a parser after it.
CRAFTED_TIMESTAMPS = {
    "4300-digits": "9" * 4300,
    "superscript-two": "\u00b2",
    "arabic-indic-digits": "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
    "exponent": "1e400",
    "fraction": "1700000000.5",
    "negative": "-1",
    "underscored": "1_700_000_000",
    "nan": "nan",
    "empty": "",
}

CRAFTED_BODIES = {
    "number-out-of-range": b'{"id": "evt_1", "amount": 1e400}',
    "lone-surrogate": b'{"id": "evt_1", "name": "\\ud800"}',
    "nul-under-600-levels": b'{"id": "evt_1", "deep": '
    + b"[" * 600
    + b'"\\u0000"'
    + b"]" * 600
    + b"}",
    "20000-levels": b'{"deep": ' + b"[" * 20000 + b"]" * 20000 + b"}",
    "huge-integer": b'{"id": ' + b"9" * 5000 + b"}",
    "utf-16-with-bom": json.dumps({"id": "evt_1"}).encode("utf-16"),
    "utf-16-le": json.dumps({"id": "evt_1"}).encode("utf-16-le"),
    "utf-16-be": json.dumps({"id": "evt_1"}).encode("utf-16-be"),
    "utf-32": json.dumps({"id": "evt_1"}).encode("utf-32"),
    "utf-8-bom": b"\xef\xbb\xbf" + json.dumps({"id": "evt_1"}).encode(),
}


@pytest.mark.parametrize("body", CRAFTED_BODIES.values(), ids=CRAFTED_BODIES.keys())
def test_a_body_the_database_cannot_store_is_400_naming_the_body(
    body: bytes, make_config: MakeConfig
) -> None:
    config = make_config("generic", secret=None, require_signature=False)
    response = post(Client(), config, body)
    assert response.status_code == 400, response.content
    assert "body" in response.json()
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("source", ["stripe", "standard", "calendly"])
@pytest.mark.parametrize("stamp", CRAFTED_TIMESTAMPS.values(), ids=CRAFTED_TIMESTAMPS.keys())
def test_a_crafted_signature_timestamp_is_401(
    source: str, stamp: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    assert config.secret
    body = body_of(sample_payload(source))
    # Signed over the crafted timestamp exactly as sent: only the timestamp is wrong.
    headers = SIGNERS[source](config.secret, body, t=stamp)
    response = post(Client(), config, body, headers)
    assert response.status_code == 401, response.content
    assert "signature" in response.json()["detail"].lower()
    assert WebhookEvent.objects.get().accepted is False


CRAFTED_HEADERS = {
    "stripe": {
        "Stripe-Signature": [
            "t",
            "t=1,v1",
            "=,=,=",
            ",,,",
            "t=1=2,v1=3=4",
            "v1=" + "0" * 5000,
            "t=\u00b2,v1=00",
            "t=1700000000,v1=\u00e9",
        ]
    },
    "calendly": {"Calendly-Webhook-Signature": ["t", "t=1,v1", "=,=", "t=\u00b2,v1=00"]},
    "standard": {
        "webhook-signature": [
            "v1,a,b",
            "v1,===",
            "v1,\u00e9\u00e9",
            ",",
            "v1, ",
            "  ",
            "v1,QUJD" * 2000,
        ],
        "webhook-id": ["\u00e9", " "],
    },
    "typeform": {"Typeform-Signature": ["sha256=\u00e9", "=", "sha256==="]},
    "generic": {"X-Webhook-Signature": ["sha256=\u00e9", "=", "sha256=" + "0" * 5000]},
}


@pytest.mark.parametrize(
    ("source", "header", "value"),
    [
        (source, header, value)
        for source, headers in CRAFTED_HEADERS.items()
        for header, values in headers.items()
        for value in values
    ],
)
def test_a_crafted_signature_header_is_401(
    source: str, header: str, value: str, make_config: MakeConfig
) -> None:
    config = make_config(source)
    body = body_of(sample_payload(source))
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,QUJD",
    }
    headers[header] = value
    response = post(Client(), config, body, headers)
    assert response.status_code == 401, response.content
    assert "signature" in response.json()["detail"].lower()
