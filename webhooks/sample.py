"""The admin's "send test event": a sample delivery signed with the config's own scheme,
posted to its endpoint in-process (through the real intake view, no network)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.test import RequestFactory
from django.urls import reverse

from flows.jsonpath import compile_path
from webhooks import signatures
from webhooks.intake import webhook_intake
from webhooks.models import WebhookConfig


@dataclass(frozen=True)
class TestDelivery:
    status: int
    body: dict[str, Any]


def _envelope(source: str, marker: str) -> dict[str, Any]:
    """The part of a payload that carries the provider's event id (SPEC 7.4)."""
    scheme = signatures.scheme_for(source)
    if scheme is signatures.STRIPE:
        return {"id": f"evt_test_{marker}", "object": "event", "type": "stitch.test"}
    if scheme is signatures.TYPEFORM:
        return {"event_id": f"test_{marker}", "event_type": "form_response"}
    if scheme is signatures.CALENDLY:
        uri = f"https://calendly.example/invitees/test-{marker}"
        return {"event": "invitee.created", "payload": {"uri": uri}}
    return {"id": f"test_{marker}", "type": "stitch.test"}


def _place(payload: dict[str, Any], expression: Any, value: Any) -> None:
    if not (isinstance(expression, str) and expression.startswith("$")):
        return
    try:
        compile_path(expression).update_or_create(payload, value)
    except Exception:
        return  # filters and slices cannot be filled in; that path stays empty


def sample_payload(config: WebhookConfig, marker: str) -> dict[str, Any]:
    """A payload in which every path of the config's mapping finds a value."""
    payload = _envelope(config.source, marker)
    mapping = config.entity_mapping or {}
    samples = {
        "name": "Test Customer",
        "email": f"test+{marker}@example.com",
        "entity_type": "lead",
        "avatar_url": "https://example.com/avatar.png",
    }
    for key, value in samples.items():
        _place(payload, mapping.get(key), value)
    metadata = mapping.get("metadata")
    if isinstance(metadata, dict):
        for key, expression in metadata.items():
            _place(payload, expression, f"sample {key}")
    return payload


def send_test_event(config: WebhookConfig) -> TestDelivery:
    marker = uuid.uuid4().hex[:12]
    body = json.dumps(sample_payload(config, marker)).encode()
    headers: dict[str, str] = {}
    if config.secret:
        headers = signatures.sign(
            source=config.source, secret=config.secret, body=body, msg_id=f"msg_test_{marker}"
        )
    path = reverse("webhook-intake", kwargs={"endpoint_slug": config.endpoint_slug})
    request = RequestFactory().post(
        path, data=body, content_type="application/json", headers=headers
    )
    response = webhook_intake(request, endpoint_slug=config.endpoint_slug)
    return TestDelivery(status=response.status_code, body=json.loads(response.content))
