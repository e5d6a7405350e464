"""Bodies over a route's limit are refused while they arrive (SPEC 7.1, 10): a raw socket
streams an endless body to the running server, which must answer 413 long before the
client gives up, whether the body is chunked or declares its length."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import WebhookConfigFactory
from tests.hostile.conftest import LiveServer
from tests.hostile.rawhttp import Answer, stream

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def assert_refused_as_too_large(answer: Answer, limit: int) -> None:
    assert answer.status == 413, answer
    assert str(limit) in answer.json()["body"][0]
    assert answer.headers["connection"] == "close"


def test_an_endless_chunked_webhook_body_is_refused_before_three_mib_are_sent(
    server: LiveServer,
) -> None:
    config = WebhookConfigFactory.create(secret=None, require_signature=False)
    answer = stream(server.port, f"/api/webhooks/{config.endpoint_slug}/", give_up_after=3 * MiB)
    assert_refused_as_too_large(answer, MiB)
    assert answer.sent < 3 * MiB
    assert server.healthy()


def test_a_webhook_body_declared_over_the_limit_is_refused_before_any_of_it_is_sent(
    server: LiveServer,
) -> None:
    config = WebhookConfigFactory.create(secret=None, require_signature=False)
    answer = stream(
        server.port,
        f"/api/webhooks/{config.endpoint_slug}/",
        headers={"Content-Length": str(100 * MiB)},
        chunked=False,
        give_up_after=0,
    )
    assert_refused_as_too_large(answer, MiB)
    assert answer.sent == 0


def test_an_endless_media_upload_is_refused_without_logging_in(server: LiveServer) -> None:
    limit = 50 * MiB + MiB  # the file limit plus the multipart allowance
    answer = stream(
        server.port,
        "/api/media/",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        give_up_after=limit + 3 * MiB,
    )
    assert_refused_as_too_large(answer, limit)
    assert answer.sent < limit + 3 * MiB


def test_every_other_route_has_the_default_limit(server: LiveServer) -> None:
    answer = stream(server.port, "/api/flows/", give_up_after=13 * MiB)
    assert_refused_as_too_large(answer, 10 * MiB)
    assert answer.sent < 13 * MiB


def test_a_chunked_body_within_the_limit_reaches_the_endpoint(server: LiveServer) -> None:
    config = WebhookConfigFactory.create(secret=None, require_signature=False)
    body = b'{"id": "evt_big", "padding": "' + b"x" * (MiB - 100) + b'"}'

    def chunks():  # an iterator: httpx sends it chunked, without a Content-Length
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = httpx.post(
        f"{server.url}/api/webhooks/{config.endpoint_slug}/",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
