"""Crafted signature headers sent to the running server's intake (SPEC 7.2): however
malformed, each is a 401 like any other bad signature."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.hostile.conftest import LiveServer
from tests.hostile.world import World, world_create

pytestmark = pytest.mark.django_db(transaction=True)

BODY = json.dumps({"id": "evt_signed", "customer": {"name": "Ann"}}).encode()

ARABIC_INDIC_DIGITS = "\u0661\u0667" + "\u0660" * 8  # isdigit() is true for these
TIMESTAMPS = ["9" * 4300, "\u00b2", "1e400", "nan", "-1", "1700000000.5", ARABIC_INDIC_DIGITS, ""]
STRIPE_HEADERS = [
    *(f"t={stamp},v1={'0' * 64}" for stamp in TIMESTAMPS),
    "garbage",
    ",,,,",
    "t=1,v1=\u00e9",
    "v1=" + "a" * 6000,
    "t=1," + ",".join(f"v1={i:064x}" for i in range(100)),
]
STANDARD_HEADERS: list[dict[str, str]] = [
    *({"webhook-timestamp": stamp} for stamp in TIMESTAMPS),
    {"webhook-signature": "v1,a,b"},
    {"webhook-signature": "v1,@@@"},
    {"webhook-signature": "v1,\u00e9"},
    {"webhook-signature": "v1,,"},
    {"webhook-signature": ("v1,QUJD " * 800).strip()},
    {"webhook-id": "\u00e9" * 300},
]


@pytest.fixture
def world(server: LiveServer) -> World:
    return world_create()


def post(server: LiveServer, slug: str, headers: dict[str, str]) -> httpx.Response:
    # Sent as UTF-8 bytes, as a careless client would (the server reads them as latin-1).
    encoded = [(name.encode(), value.encode()) for name, value in headers.items()]
    return httpx.post(
        f"{server.url}/api/webhooks/{slug}/",
        content=BODY,
        headers=[(b"Content-Type", b"application/json"), *encoded],
        timeout=30,
    )


def refusal_problem(response: httpx.Response) -> str | None:
    if response.status_code != 401:
        return f"answered {response.status_code}: {response.text[:200]}"
    if "signature" not in response.json()["detail"].lower():
        return f"401 without naming the signature: {response.text[:200]}"
    return None


def test_crafted_stripe_signature_headers_are_401(server: LiveServer, world: World) -> None:
    problems = {
        value[:60]: refusal_problem(post(server, world.stripe_slug, {"Stripe-Signature": value}))
        for value in STRIPE_HEADERS
    }
    assert {k: v for k, v in problems.items() if v} == {}
    assert server.healthy()


def test_crafted_standard_webhooks_headers_are_401(server: LiveServer, world: World) -> None:
    base = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,QUJD",
    }
    problems = {
        json.dumps(crafted)[:60]: refusal_problem(post(server, world.standard_slug, base | crafted))
        for crafted in STANDARD_HEADERS
    }
    assert {k: v for k, v in problems.items() if v} == {}
    assert server.healthy()
