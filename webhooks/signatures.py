"""Signature schemes of inbound webhooks (SPEC 7.2), one per `source`.

Where a provider publishes a maintained verifier it does the work, with only what it
lacks added around it:

- `stripe` (and `calendly`, which signs exactly as Stripe does: `t=..,v1=..`, hex
  HMAC-SHA256 of "{t}.{body}"): the Stripe SDK's `WebhookSignature.verify_header`. It
  refuses a timestamp older than the tolerance; one from the future is refused here.
- `standard`: the `standardwebhooks` package's `Webhook.verify`, with its timestamp
  check replaced by ours (its own is a fixed 5 minutes on its own clock and parses the
  header with float(), which takes "1e400" or "nan").
- `typeform` and `generic`: HMAC-SHA256 of the body, compared here.

Every scheme verifies the raw body bytes exactly as received (key order and whitespace
are part of what the provider signed) and compares digests in constant time. Anything
wrong with the headers, however malformed, is a SignatureError (a 401), never a crash.
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
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from stripe import SignatureVerificationError, WebhookSignature


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

# The Standard Webhooks specification asks for keys of 24 to 64 bytes; a shorter one
# (`whsec_AA` is a single byte) can be guessed.
STANDARD_SECRET_MIN_BYTES = 24
# Seconds since 1970 in ASCII digits; twelve digits reach the year 33658.
_TIMESTAMP_MAX_DIGITS = 12


def scheme_for(source: str) -> Scheme:
    """Any source we do not know is verified with the generic scheme."""
    return _SCHEMES.get((source or "").strip().lower(), GENERIC)


def now() -> float:
    """The clock our timestamp checks are measured on (tests pin it)."""
    return time.time()


def _tolerance() -> int:
    return int(settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS)


def _timestamp(raw: str) -> int:
    # isdigit() alone also admits "²" and other scripts' digits, which int() refuses or
    # reads differently from what was signed.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _TIMESTAMP_MAX_DIGITS):
        raise SignatureError("signature timestamp is not a whole number of seconds")
    return int(raw)


def _refuse_stale(stamp: int) -> None:
    if now() - stamp > _tolerance():
        raise SignatureError(f"signature timestamp is more than {_tolerance()} s old")


def _refuse_future(stamp: int) -> None:
    # A request stamped ahead of time would outlive the window meant to stop replays.
    if stamp - now() > _tolerance():
        raise SignatureError(f"signature timestamp is more than {_tolerance()} s in the future")


def _hmac(secret: str | bytes, message: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).digest()


# --- Stripe and Calendly: the Stripe SDK ------------------------------------------------


def _stripe_t(header: str) -> str:
    # The same reading as the SDK's (first `t` item, split on "="), which accepted it.
    for item in header.split(","):
        parts = item.split("=", 2)
        if parts[0] == "t" and len(parts) > 1:
            return parts[1]
    raise SignatureError("signature header has no t= timestamp")


def _stripe_reason(exc: SignatureVerificationError) -> str:
    message = str(exc.user_message or exc)
    if message.startswith("Timestamp outside the tolerance zone"):
        return f"signature timestamp is more than {_tolerance()} s old"
    return message[:200]


def _verify_stripe_style(header: str, secret: str, body: bytes) -> None:
    try:
        WebhookSignature.verify_header(body, header, secret, tolerance=_tolerance())
    except SignatureVerificationError as exc:
        raise SignatureError(_stripe_reason(exc)) from exc
    except (TypeError, ValueError) as exc:
        # compare_digest refuses non-ASCII text: a v1 value no provider would send.
        raise SignatureError("malformed signature header") from exc
    _refuse_future(_timestamp(_stripe_t(header)))


# --- Standard Webhooks: the standardwebhooks package -----------------------------------


class StandardWebhook(Webhook):
    """`standardwebhooks.Webhook` checking timestamps on our clock and tolerance."""

    # Overrides the library's private `__verify_timestamp` (name-mangled), the one step
    # of its verify() we replace; pinned by tests/webhooks/test_standard_webhooks_example.
    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        stamp = _timestamp(timestamp_header)
        _refuse_stale(stamp)
        _refuse_future(stamp)
        return datetime.fromtimestamp(stamp, tz=UTC)


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_").rstrip("=")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("secret must be whsec_ followed by base64") from exc
    if len(key) < STANDARD_SECRET_MIN_BYTES:
        raise SignatureError(
            f"secret must hold at least {STANDARD_SECRET_MIN_BYTES} bytes "
            f"(whsec_ and 32 base64 characters); this one holds {len(key)}"
        )
    return key


def standard_webhook(secret: str) -> StandardWebhook:
    """The Standard Webhooks verifier and signer; SignatureError for an unusable secret."""
    return StandardWebhook(_standard_key(secret))


def _verify_standard(headers: Mapping[str, str], secret: str, body: bytes) -> None:
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    values = {name: headers.get(name) or "" for name in names}
    try:
        standard_webhook(secret).verify(body, values, json_parse=False)
    except WebhookVerificationError as exc:
        raise SignatureError(str(exc)[:200]) from exc
    except (TypeError, ValueError) as exc:
        # The library lets malformed `webhook-signature` entries escape as ValueError
        # (an entry without a comma, base64 that does not decode).
        raise SignatureError("malformed webhook-signature header") from exc


# --- Typeform and generic: HMAC of the body --------------------------------------------


def _verify_prefixed(header: str, secret: str, body: bytes, *, base64_digest: bool) -> None:
    """Typeform (`sha256=<base64>`) and generic (`sha256=<hex>`): HMAC of the body."""
    prefix, sep, given = header.strip().partition("=")
    if prefix != "sha256" or not sep or not given:
        raise SignatureError("signature header must look like sha256=<digest>")
    digest = _hmac(secret, body)
    expected = base64.b64encode(digest) if base64_digest else digest.hex().encode()
    if not hmac.compare_digest(expected, given.encode()):
        raise SignatureError("signature does not match the body")


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
        _verify_stripe_style(header, secret, body)
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
        header = WebhookSignature.generate_signature_header(body.decode(), secret, stamp)
        return {scheme.header: header}
    digest_bytes = _hmac(secret, body)
    if scheme is TYPEFORM:
        return {scheme.header: "sha256=" + base64.b64encode(digest_bytes).decode()}
    return {scheme.header: "sha256=" + digest_bytes.hex(), "X-Webhook-Id": msg_id}
