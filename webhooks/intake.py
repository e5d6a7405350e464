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
from webhooks import services, signatures
from webhooks.models import WebhookConfig

# Stripe, Svix and Typeform ids are about 30 characters, a Calendly invitee URI about 100;
# 500 stays far below what the btree index on (config, provider_event_id) can hold.
MAX_PROVIDER_EVENT_ID_LENGTH = 500


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body)
        self.response = JsonResponse(body, status=status)


def _config(endpoint_slug: str) -> WebhookConfig:
    config = WebhookConfig.objects.filter(endpoint_slug=endpoint_slug).first()
    if config is None:
        raise Refused(404, {"detail": f"No webhook endpoint {endpoint_slug!r}."})
    if not config.is_active:
        raise Refused(410, {"detail": f"Webhook endpoint {endpoint_slug!r} is inactive."})
    return config


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


@csrf_exempt
@require_POST
def webhook_intake(request: HttpRequest, endpoint_slug: str) -> JsonResponse:
    config = None
    try:
        config = _config(endpoint_slug)
        body = _body(request)
        payload = _payload(body)
    except Refused as refused:
        return observe.webhook_answered(config, refused.response)
    try:
        _authenticate(config, request.headers, body)
    except signatures.SignatureError as exc:
        services.webhook_event_refuse(
            config=config, body=body, payload=payload, error=f"signature: {exc}"
        )
        refusal = JsonResponse({"detail": f"Invalid webhook signature: {exc}."}, status=401)
        return observe.webhook_answered(config, refusal, reason=f"signature: {exc}")
    found = provider_event_id(source=config.source, headers=request.headers, payload=payload)
    try:
        provider_id = _checked_provider_id(found)
    except Refused as refused:
        return observe.webhook_answered(config, refused.response, reason="provider event id")
    event, created = services.webhook_event_accept(
        config=config, payload=payload, provider_event_id=provider_id
    )
    answer = JsonResponse(
        {"event_id": str(event.id), "status": event.status}, status=202 if created else 200
    )
    return observe.webhook_answered(config, answer)
