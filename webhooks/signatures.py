"""Signature schemes of inbound webhooks (SPEC 7.2), one per `source`.

Every scheme verifies the raw body bytes exactly as received (never a re-serialised
body: key order and whitespace are part of what the provider signed) and compares
digests with `hmac.compare_digest`, so the time taken reveals nothing about how much
of a forged signature was right. Schemes with a timestamp accept it within
`WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS` in both directions: a replayed old request is
refused, and so is one "from the future" made to outlive the window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook


class SignatureError(Exception):
    """The request is not signed by the holder of the config's secret."""


@dataclass(frozen=True)
class Scheme:
    name: str
    header: str  # the header a signature travels in, as providers document it


STRIPE = Scheme("stripe", "Stripe-Signature")
STANDARD = Scheme("standard", "webhook-signature")
TYPEFORM = Scheme("typeform", "Typeform-Signature")
CALENDLY = Scheme("calendly", "Calendly-Webhook-Signature")
GENERIC = Scheme("generic", "X-Webhook-Signature")
_SCHEMES = {s.name: s for s in (STRIPE, STANDARD, TYPEFORM, CALENDLY, GENERIC)}


def scheme_for(source: str) -> Scheme:
    """Any source we do not know is verified with the generic scheme."""
    return _SCHEMES.get((source or "").strip().lower(), GENERIC)


def now() -> float:
    """The clock every timestamp window is measured on (tests pin it)."""
    return time.time()


def _hmac(secret: str | bytes, message: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).digest()


def _check_timestamp(raw: str) -> int:
    if not raw.isdigit():
        raise SignatureError("signature timestamp is not a whole number of seconds")
    stamp = int(raw)
    tolerance = settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS
    skew = now() - stamp
    if skew > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s old")
    if skew < -tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s in the future")
    return stamp


def _pairs(header: str) -> dict[str, list[str]]:
    """Parse `t=..,v1=..,v1=..` (Stripe, Calendly) keeping repeated keys."""
    parsed: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key or not value:
            raise SignatureError(f"malformed signature header entry {item.strip()!r}")
        parsed.setdefault(key, []).append(value)
    return parsed


def _any_matches(expected: bytes, candidates: list[bytes]) -> bool:
    # Check every candidate (no early exit) so timing does not depend on which matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _verify_timestamped_hex(header: str, secret: str, body: bytes) -> None:
    """Stripe and Calendly: HMAC-SHA256 hex of "{t}.{body}"; any v1 may match."""
    parts = _pairs(header)
    if len(parts.get("t", [])) != 1 or not parts.get("v1"):
        raise SignatureError("signature header needs one t= and at least one v1=")
    stamp = _check_timestamp(parts["t"][0])
    expected = _hmac(secret, f"{stamp}.".encode() + body).hex().encode()
    if not _any_matches(expected, [v.encode() for v in parts["v1"]]):
        raise SignatureError("no v1 signature matches the body")


def _verify_prefixed(header: str, secret: str, body: bytes, *, base64_digest: bool) -> None:
    """Typeform (`sha256=<base64>`) and generic (`sha256=<hex>`): HMAC of the body."""
    prefix, sep, given = header.strip().partition("=")
    if prefix != "sha256" or not sep or not given:
        raise SignatureError("signature header must look like sha256=<digest>")
    digest = _hmac(secret, body)
    expected = base64.b64encode(digest) if base64_digest else digest.hex().encode()
    if not hmac.compare_digest(expected, given.encode()):
        raise SignatureError("signature does not match the body")


def standard_webhook(secret: str) -> Webhook:
    """The Standard Webhooks signer; raises SignatureError for a secret it cannot use."""
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError, RuntimeError) as exc:
        raise SignatureError("secret must be whsec_ followed by base64") from exc


def _verify_standard(headers: Mapping[str, str], secret: str, body: bytes) -> None:
    """Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64>` entries
    over "{webhook-id}.{webhook-timestamp}.{body}".

    The package's own `verify()` has a fixed 5-minute window on its own clock and lets
    malformed entries escape as ValueError, so we use its signer (secret decoding and
    signed-content format) and keep one clock, one tolerance and one error path here.
    """
    msg_id = headers.get("webhook-id", "")
    raw_stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and raw_stamp and signatures):
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    stamp = _check_timestamp(raw_stamp)
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise SignatureError("body is not UTF-8") from exc
    signed = standard_webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, tz=UTC), text)
    expected = signed.partition(",")[2].encode()
    candidates = []
    for entry in signatures.split():
        version, sep, value = entry.partition(",")
        if not sep or not value:
            raise SignatureError(f"malformed webhook-signature entry {entry!r}")
        if version == "v1":
            candidates.append(value.encode())
    if not _any_matches(expected, candidates):
        raise SignatureError("no v1 signature matches the body")


def verify(*, source: str, secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raise SignatureError unless `body` carries a valid signature made with `secret`.

    `headers` must look up names case-insensitively (Django's `request.headers` does).
    """
    scheme = scheme_for(source)
    if scheme is STANDARD:
        _verify_standard(headers, secret, body)
        return
    header = headers.get(scheme.header)
    if not header:
        raise SignatureError(f"the {scheme.header} header is missing")
    if scheme in (STRIPE, CALENDLY):
        _verify_timestamped_hex(header, secret, body)
    else:
        _verify_prefixed(header, secret, body, base64_digest=scheme is TYPEFORM)


def sign(*, source: str, secret: str, body: bytes, msg_id: str) -> dict[str, str]:
    """Headers that sign `body` with the config's own scheme (the admin's test event)."""
    scheme = scheme_for(source)
    stamp = int(now())
    if scheme is STANDARD:
        moment = datetime.fromtimestamp(stamp, tz=UTC)
        signature = standard_webhook(secret).sign(msg_id, moment, body.decode())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        }
    if scheme in (STRIPE, CALENDLY):
        digest = _hmac(secret, f"{stamp}.".encode() + body).hex()
        return {scheme.header: f"t={stamp},v1={digest}"}
    digest_bytes = _hmac(secret, body)
    if scheme is TYPEFORM:
        return {scheme.header: "sha256=" + base64.b64encode(digest_bytes).decode()}
    return {scheme.header: "sha256=" + digest_bytes.hex(), "X-Webhook-Id": msg_id}
