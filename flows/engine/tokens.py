"""Per run-node callback tokens: an HMAC of the run and node ids with the
installation's worker secret, so nothing needs storing and nobody without the
secret can forge one for another node."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from django.conf import settings


def callback_token(run_id: object, node_id: str) -> str:
    message = f"stitch-callback:{run_id}:{node_id}".encode()
    key = str(settings.WORKER_SIGNING_SECRET).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def token_valid(run_id: object, node_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(callback_token(run_id, node_id), str(token))


def callback_url(run_id: object, node_id: str) -> str:
    path = f"/api/runs/{run_id}/nodes/{quote(node_id, safe='')}/callback/"
    return f"{settings.PUBLIC_BASE_URL}{path}?token={callback_token(run_id, node_id)}"


def sign_body(body: bytes) -> str:
    """`X-Stitch-Signature` value for a dispatch body."""
    key = str(settings.WORKER_SIGNING_SECRET).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
