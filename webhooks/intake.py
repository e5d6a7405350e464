"""Inbound webhook endpoint (SPEC section 7): `POST /api/webhooks/{endpoint_slug}/`.

No login: the caller is authenticated by the signature. The request only verifies and
stores; mapping, entities and runs happen in the background job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from stitch import jsondata, observe
from webhooks import endpoints, services, signatures
from webhooks.models import WebhookConfig

# Stripe, Svix and Typeform ids are about 30 characters, a Calendly invitee URI about 100;
# 500 stays far below what the btree index on (config, provider_event_id) can hold.
MAX_PROVIDER_EVENT_ID_LENGTH = 500


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body)
        self.status, self.body = status, body


def _body(request: HttpRequest) -> bytes:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_big = Refused(413, {"body": [f"Request body exceeds {limit} bytes."]})
    declared = request.headers.get("Content-Length") or "0"
    if not declared.isdigit():
        raise Refused(400, {"Content-Length": ["Content-Length must be a number."]})
    # Refuse on the declared size before reading anything, then bound the read itself:
    # a chunked body declares nothing.
    if int(declared) > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = jsondata.loads(body)
    except jsondata.JSONDataError as exc:
        raise Refused(400, {"body": [f"Request body is refused: {exc}."]}) from exc
    if not isinstance(payload, dict):
        raise Refused(400, {"body": ["Request body must be a JSON object."]})
    return payload


def _authenticate(config: WebhookConfig, headers: Mapping[str, str], body: bytes) -> None:
    """Raise SignatureError unless the delivery may be accepted (SPEC 7.2)."""
    if config.secret:
        # With a secret the signature is mandatory, whatever require_signature says.
        signatures.verify(source=config.source, secret=config.secret, headers=headers, body=body)
    elif config.require_signature:
        raise signatures.SignatureError(
            "this endpoint requires a signature but has no secret configured"
        )


def _scalar(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@dataclass(frozen=True)
class ProviderId:
    value: str
    where: str  # the payload path or header it came from, named in errors


def _found(value: str | None, where: str) -> ProviderId | None:
    return ProviderId(value, where) if value else None


def provider_event_id(
    *, source: str, headers: Mapping[str, str], payload: dict[str, Any]
) -> ProviderId | None:
    """The provider's id of this delivery (SPEC 7.4); None when it sent none."""
    scheme = signatures.scheme_for(source)
    if scheme is signatures.STANDARD:
        return _found(_scalar(headers.get("webhook-id")), "webhook-id")
    if scheme is signatures.TYPEFORM:
        return _found(_scalar(payload.get("event_id")), "event_id")
    if scheme is signatures.CALENDLY:
        # Calendly sends no delivery id; an invitee's URI plus the event name
        # (invitee.created / invitee.canceled) identifies one notification.
        inner = payload.get("payload")
        uri = _scalar(inner.get("uri")) if isinstance(inner, dict) else None
        event = _scalar(payload.get("event"))
        return _found(f"{uri}/{event}" if uri and event else None, "payload.uri")
    signed = _found(_scalar(payload.get("id")), "id")
    if scheme is signatures.STRIPE or signed:
        return signed
    # Generic without a body id: the header, which the signature does not cover, so a
    # captured delivery could be replayed under a new one. The signed `id` comes first.
    return _found(_scalar(headers.get("X-Webhook-Id")), "X-Webhook-Id")


def _checked_provider_id(provider_id: ProviderId | None) -> str | None:
    if provider_id is None:
        return None
    if len(provider_id.value) > MAX_PROVIDER_EVENT_ID_LENGTH:
        # Past a few KB the unique index cannot hold it at all (PostgreSQL refuses the
        # row); no provider's ids come near this.
        raise Refused(
            400,
            {
                provider_id.where: [
                    f"Provider event id is longer than {MAX_PROVIDER_EVENT_ID_LENGTH} characters."
                ]
            },
        )
    return provider_id.value


@dataclass(frozen=True)
class Acceptable:
    """A delivery that passed every check: what the database is asked to store."""

    config: WebhookConfig
    payload: dict[str, Any]
    provider_event_id: str | None


@dataclass(frozen=True)
class Refusal:
    """An answer decided without the database; `logged` refusals (bad signatures) are
    also stored as failed events (SPEC 7.2)."""

    status: int
    body: dict[str, Any]
    reason: str = ""
    logged: bool = False
    payload: dict[str, Any] | None = None


def decide(config: WebhookConfig, headers: Mapping[str, str], body: bytes) -> Acceptable | Refusal:
    """Everything the intake checks after finding an active endpoint and reading the
    body, without I/O: shared by the Django view and the ASGI fast route."""
    try:
        payload = _payload(body)
    except Refused as refused:
        return Refusal(refused.status, refused.body)
    try:
        _authenticate(config, headers, body)
    except signatures.SignatureError as exc:
        detail = {"detail": f"Invalid webhook signature: {exc}."}
        return Refusal(401, detail, reason=f"signature: {exc}", logged=True, payload=payload)
    found = provider_event_id(source=config.source, headers=headers, payload=payload)
    try:
        provider_id = _checked_provider_id(found)
    except Refused as refused:
        return Refusal(refused.status, refused.body, reason="provider event id")
    return Acceptable(config, payload, provider_id)


def endpoint_refusal(slug: str, config: WebhookConfig | None) -> Refusal | None:
    """404 for an unknown slug, 410 for an inactive endpoint."""
    if config is None:
        return Refusal(404, {"detail": f"No webhook endpoint {slug!r}."})
    if not config.is_active:
        return Refusal(410, {"detail": f"Webhook endpoint {slug!r} is inactive."})
    return None


def _answer(config: WebhookConfig | None, refusal: Refusal) -> JsonResponse:
    response = JsonResponse(refusal.body, status=refusal.status)
    return observe.webhook_answered(config, response, reason=refusal.reason)


def _handle(
    request: HttpRequest, slug: str, config: WebhookConfig, body: bytes, *, fresh: bool
) -> JsonResponse | None:
    """The answer, or None when a cached config may be stale (handle again, fresh)."""
    verdict = decide(config, request.headers, body)
    if isinstance(verdict, Refusal):
        if verdict.logged and not fresh:
            return None  # the secret may have been rotated since it was cached
        if verdict.logged:
            assert verdict.payload is not None
            services.webhook_event_refuse(
                config=config, body=body, payload=verdict.payload, error=verdict.reason
            )
        return _answer(config, verdict)
    stored = services.webhook_event_accept(
        config=config, payload=verdict.payload, provider_event_id=verdict.provider_event_id
    )
    if stored is None:
        return None  # the config changed since it was read
    answer = JsonResponse(
        {"event_id": str(stored.id), "status": stored.status},
        status=202 if stored.created else 200,
    )
    return observe.webhook_answered(config, answer)


@csrf_exempt
@require_POST
def webhook_intake(request: HttpRequest, endpoint_slug: str) -> JsonResponse:
    config = endpoints.cached(endpoint_slug)
    fresh = config is None
    if config is None:
        config = endpoints.load(endpoint_slug)
    refusal = endpoint_refusal(endpoint_slug, config)
    if refusal is not None:
        return _answer(config, refusal)
    assert config is not None
    try:
        body = _body(request)
    except Refused as refused:
        return _answer(config, Refusal(refused.status, refused.body))
    answer = _handle(request, endpoint_slug, config, body, fresh=fresh)
    if answer is None:
        endpoints.forget(endpoint_slug)
        config = endpoints.load(endpoint_slug)
        refusal = endpoint_refusal(endpoint_slug, config)
        if refusal is not None:
            return _answer(config, refusal)
        assert config is not None
        answer = _handle(request, endpoint_slug, config, body, fresh=True)
    if answer is None:  # changed again meanwhile: the provider retries
        return _answer(config, Refusal(409, {"detail": "The endpoint changed; try again."}))
    return answer
