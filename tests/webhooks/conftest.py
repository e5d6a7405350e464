"""Helpers for webhook tests: configs, and signatures computed the way each provider's
documentation describes (independently of webhooks.signatures, which they check)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from stitch.models import User
from tests.factories import (
    CanvasFactory,
    FlowFactory,
    WebhookConfigFactory,
    linear_workflow_graph,
)
from webhooks.models import WebhookConfig

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLAIN_SECRET = "s3cr3t-for-tests"

# Secrets in each provider's format (Standard Webhooks keys are base64 after whsec_).
SECRETS = {
    "stripe": "whsec_stripe_test_secret",
    "standard": STANDARD_SECRET,
    "typeform": PLAIN_SECRET,
    "calendly": PLAIN_SECRET,
    "generic": PLAIN_SECRET,
}

MAPPING = {
    "name": "$.customer.name",
    "email": "$.customer.email",
    "entity_type": "customer",
    "metadata": {"plan": "$.plan", "source": "webhook"},
}


def _hmac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


# `t` may be a string: crafted-timestamp tests sign over exactly what they send.
Stamp = int | str | None


def stripe_header(secret: str, body: bytes, t: Stamp = None) -> dict[str, str]:
    """https://docs.stripe.com/webhooks#verify-manually"""
    t = int(time.time()) if t is None else t
    sig = _hmac(secret.encode(), f"{t}.".encode() + body).hex()
    return {"Stripe-Signature": f"t={t},v1={sig}"}


def calendly_header(secret: str, body: bytes, t: Stamp = None) -> dict[str, str]:
    """Calendly: `Calendly-Webhook-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "{t}.{body}">`."""
    t = int(time.time()) if t is None else t
    sig = _hmac(secret.encode(), f"{t}.".encode() + body).hex()
    return {"Calendly-Webhook-Signature": f"t={t},v1={sig}"}


def standard_headers(
    secret: str, body: bytes, t: Stamp = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    """https://www.standardwebhooks.com/ : base64 HMAC of "{id}.{ts}.{body}", key after whsec_."""
    t = int(time.time()) if t is None else t
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(_hmac(key, f"{msg_id}.{t}.".encode() + body)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(t), "webhook-signature": f"v1,{sig}"}


def typeform_header(secret: str, body: bytes, t: int | None = None) -> dict[str, str]:
    """Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of body>` (no timestamp)."""
    sig = base64.b64encode(_hmac(secret.encode(), body)).decode()
    return {"Typeform-Signature": f"sha256={sig}"}


def generic_header(secret: str, body: bytes, t: int | None = None) -> dict[str, str]:
    sig = _hmac(secret.encode(), body).hex()
    return {"X-Webhook-Signature": f"sha256={sig}"}


SIGNERS: dict[str, Callable[..., dict[str, str]]] = {
    "stripe": stripe_header,
    "standard": standard_headers,
    "typeform": typeform_header,
    "calendly": calendly_header,
    "generic": generic_header,
}


def sample_payload(source: str, marker: str = "1", email: str = "ada@example.com") -> dict:
    """A payload carrying the provider's event id where that provider puts it."""
    payload: dict[str, Any] = {
        "customer": {"name": "Ada Lovelace", "email": email},
        "plan": "pro",
    }
    if source == "stripe":
        payload["id"] = f"evt_{marker}"
    elif source == "typeform":
        payload["event_id"] = f"tf_{marker}"
    elif source == "calendly":
        payload["event"] = "invitee.created"
        payload["payload"] = {"uri": f"https://api.calendly.com/invitees/{marker}"}
    elif source == "generic":
        payload["id"] = f"gen_{marker}"
    return payload


def body_of(payload: dict) -> bytes:
    # Deliberately not json.dumps' default spacing: the raw bytes must be what is verified.
    return json.dumps(payload, separators=(", ", ":  ")).encode()


def post(
    client: Client, config: WebhookConfig, body: bytes, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"/api/webhooks/{config.endpoint_slug}/",
        data=body,
        content_type="application/json",
        headers=headers or {},
    )


def signed_post(
    client: Client,
    config: WebhookConfig,
    payload: dict,
    *,
    t: int | None = None,
    msg_id: str = "msg_1",
) -> Any:
    body = body_of(payload)
    assert config.secret
    if config.source == "standard":
        headers = standard_headers(config.secret, body, t=t, msg_id=msg_id)
    else:
        headers = SIGNERS[config.source](config.secret, body, t=t)
    return post(client, config, body, headers)


class WorkerServer:
    """A real synchronous worker on 127.0.0.1: records each dispatch, answers completed."""

    def __init__(self) -> None:
        self.dispatches: list[dict[str, Any]] = []
        received = self.dispatches

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                reply = json.dumps({"status": "completed", "output": {"ok": True}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/work"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def worker() -> Iterator[WorkerServer]:
    server = WorkerServer()
    yield server
    server.close()


@pytest.fixture
def make_config(owner: User, worker: WorkerServer) -> Callable[..., WebhookConfig]:
    """A config of `source` on a canvas of `owner`, whose workflow (two Worker nodes)
    dispatches to the `worker` fixture's server (extra fields as kwargs)."""

    def make(source: str = "generic", **fields: Any) -> WebhookConfig:
        canvas = fields.pop("canvas", None) or CanvasFactory.create(owner=owner)
        workflow = fields.pop("workflow", None) or FlowFactory.create(
            owner=owner, graph=linear_workflow_graph(worker.url)
        )
        fields.setdefault("secret", SECRETS.get(source, PLAIN_SECRET))
        fields.setdefault("entity_mapping", MAPPING)
        return WebhookConfigFactory.create(
            canvas=canvas, workflow=workflow, source=source, **fields
        )

    return make
