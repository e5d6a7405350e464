"""Callback tokens and dispatch signatures, keyed by the installation's worker secret.

A callback token is `{attempt}.{hex HMAC-SHA256 of "stitch-callback:v2:{run}:{node}:
{attempt}"}`: it names the attempt it was issued for, so the server tells a forged
token (403) from a genuine one of an earlier attempt (409, recorded in the node's
`late_callbacks`), and nothing needs storing.

Keys come from `settings.WORKER_SECRETS` (never Django's SECRET_KEY): the first one
signs tokens and dispatch bodies; every one is accepted for tokens, so a secret can be
rotated by putting the new one first and dropping the old one once callbacks issued
under it are done.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from django.conf import settings


def _secrets() -> list[str]:
    return [str(secret) for secret in settings.WORKER_SECRETS]


def _mac(secret: str, run_id: object, node_id: str, attempt: int) -> str:
    message = f"stitch-callback:v2:{run_id}:{node_id}:{attempt}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_token(run_id: object, node_id: str, attempt: int) -> str:
    return f"{attempt}.{_mac(_secrets()[0], run_id, node_id, attempt)}"


def token_attempt(run_id: object, node_id: str, token: str | None) -> int | None:
    """The attempt a genuine token was issued for, or None for anything else."""
    attempt_text, _, mac = str(token or "").partition(".")
    if not attempt_text.isdigit() or len(attempt_text) > 9 or not mac:
        return None
    attempt = int(attempt_text)
    # Every secret is tried (no early exit), so timing tells nothing about which.
    matches = [
        hmac.compare_digest(_mac(secret, run_id, node_id, attempt), mac) for secret in _secrets()
    ]
    return attempt if any(matches) else None


def callback_url(run_id: object, node_id: str, attempt: int) -> str:
    path = f"/api/runs/{run_id}/nodes/{quote(node_id, safe='')}/callback/"
    return f"{settings.PUBLIC_BASE_URL}{path}?token={callback_token(run_id, node_id, attempt)}"


def sign_body(body: bytes) -> str:
    """`X-Stitch-Signature` value for a dispatch body (the first worker secret)."""
    key = _secrets()[0].encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
