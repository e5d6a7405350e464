"""Inbound webhook endpoint (SPEC section 7), built by the webhooks issue."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def webhook_intake(request: HttpRequest, endpoint_slug: str) -> JsonResponse:
    return JsonResponse({"detail": "Webhook intake is not available yet."}, status=501)
