"""What the endpoint answers before any signature is looked at (SPEC 7.1)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.test import Client, override_settings

from tests.webhooks.conftest import body_of, post, sample_payload, signed_post
from webhooks.intake import webhook_intake
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db

MakeConfig = Callable[..., WebhookConfig]


def test_an_unknown_slug_is_404(db: None) -> None:
    response = Client().post("/api/webhooks/nope/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize("slug", ["%00", "a%20b", "x" * 101])
def test_a_slug_no_config_can_have_is_a_json_404(db: None, slug: str) -> None:
    response = Client().post(f"/api/webhooks/{slug}/", data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_inactive_endpoint_is_410(make_config: MakeConfig) -> None:
    config = make_config("stripe", is_active=False)
    response = signed_post(Client(), config, sample_payload("stripe"))
    assert response.status_code == 410
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(make_config: MakeConfig) -> None:
    config = make_config()
    assert Client().get(f"/api/webhooks/{config.endpoint_slug}/").status_code == 405


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_413(make_config: MakeConfig) -> None:
    config = make_config("generic", secret=None, require_signature=False)
    payload = sample_payload("generic") | {"padding": "x" * 1000}
    response = post(Client(), config, body_of(payload))
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_a_body_that_declares_no_length_is_still_bounded(make_config: MakeConfig) -> None:
    # Under ASGI (how Stitch is served) a chunked request has no Content-Length and the
    # whole body sits in the request stream: the read itself must stop at the limit.
    config = make_config("generic", secret=None, require_signature=False)
    body = body_of(sample_payload("generic") | {"padding": "x" * 1000})
    path = f"/api/webhooks/{config.endpoint_slug}/"
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
    }
    request = ASGIRequest(scope, io.BytesIO(body))
    response = webhook_intake(request, endpoint_slug=config.endpoint_slug)
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_a_body_of_exactly_the_default_limit_is_read(make_config: MakeConfig) -> None:
    config = make_config("generic", secret=None, require_signature=False)
    body = body_of(sample_payload("generic") | {"padding": "x" * (1024 * 1024 - 200)})
    assert len(body) <= 1024 * 1024
    assert post(Client(), config, body).status_code == 202


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[1, 2]", b'"text"', b'{"a": NaN}', b"\xff\xfe\xfa", b'{"a": "\\u0000"}'],
    ids=["text", "empty", "array", "string", "nan", "binary", "nul"],
)
def test_a_body_that_is_not_a_json_object_is_400(body: bytes, make_config: MakeConfig) -> None:
    config = make_config("generic", secret=None, require_signature=False)
    response = post(Client(), config, body)
    assert response.status_code == 400
    assert "body" in response.json()
    assert not WebhookEvent.objects.exists()


def test_the_endpoint_needs_no_login_or_csrf_token(make_config: MakeConfig) -> None:
    config = make_config("stripe")
    client = Client(enforce_csrf_checks=True)
    assert signed_post(client, config, sample_payload("stripe")).status_code == 202
