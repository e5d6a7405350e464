"""Accounts: the token endpoints and the answer to a locked-out login (SPEC 10).

Failed logins are counted by django-axes in PostgreSQL (`axes_accessattempt`), so the
limit holds across every web process; it watches every `authenticate()` call with a
request: the token endpoint below, `/accounts/login/` and the admin login.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stitch.models import User
from stitch.tokens import token_expires_at, token_issue, token_revoke

TokenIssued = inline_serializer(
    "TokenIssued", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
)


class TokenObtainView(APIView):
    """`POST /api/auth/token/` `{username, password}` -> `{token, expires_at}`."""

    authentication_classes: list[Any] = []  # an expired token in the header must not 401
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=AuthTokenSerializer, responses=TokenIssued)
    def post(self, request: Request) -> Response:
        # The Django request goes to authenticate(): django-axes marks a locked-out
        # attempt on it, and its middleware answers 429 (lockout_response).
        serializer = AuthTokenSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # A token login is a login: django-axes clears the failures on this signal
        # (and Django records last_login).
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        token = token_issue(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})


class TokenRevokeView(APIView):
    """`POST /api/auth/token/revoke/`: delete the caller's own API token (204)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def lockout_response(request: HttpRequest, *args: Any) -> HttpResponse:
    """django-axes' answer once a client passed LOGIN_FAILURE_LIMIT failures: 429 with
    Retry-After. Each attempt during the lock-out starts the cool-off again, so the
    wait is always the whole of it."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    message = f"Too many failed logins. Try again in {seconds} seconds."
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        context = {"message": message}
        response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
