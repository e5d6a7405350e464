"""`/metrics` answers only a bearer token or an allowed address (settings)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.test import Client

from tests.ops.conftest import TOKEN, parse

pytestmark = pytest.mark.django_db


def test_it_refuses_a_scrape_without_the_token(metrics_token: str) -> None:
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"stitch_" not in response.content


def test_it_refuses_a_wrong_token_and_another_scheme(metrics_token: str) -> None:
    for header in (f"Bearer {TOKEN}x", f"Token {TOKEN}", TOKEN, "Bearer "):
        assert Client().get("/metrics", headers={"Authorization": header}).status_code == 401


def test_it_serves_prometheus_text_with_the_token(metrics_token: str) -> None:
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = parse(response.content.decode())
    assert samples.value("stitch_database_up") == 1
    assert samples.labels_of("stitch_webhook_events_pending") == [{}]


def test_an_allowed_address_needs_no_token(settings: Any) -> None:
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    assert Client(REMOTE_ADDR="127.0.0.9").get("/metrics").status_code == 200
    refused = Client(REMOTE_ADDR="10.1.2.3").get("/metrics")
    assert refused.status_code == 403


def test_with_neither_token_nor_addresses_nobody_is_served(settings: Any) -> None:
    settings.METRICS_TOKEN = None
    settings.METRICS_ALLOWED_NETWORKS = ()
    assert Client().get("/metrics").status_code == 403


def test_it_answers_only_reads(metrics_token: str) -> None:
    response = Client().post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405
