"""API tokens that expire (API_TOKEN_TTL_SECONDS) and can be revoked (SPEC 10).

Kept apart from the views (stitch.accounts): DRF imports the authentication class while
it is still loading its own views module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from stitch.models import User


def token_expires_at(token: Token) -> datetime | None:
    """None when tokens never expire (API_TOKEN_TTL_SECONDS=0)."""
    ttl = settings.API_TOKEN_TTL_SECONDS
    return token.created + timedelta(seconds=ttl) if ttl else None


def token_expired(token: Token) -> bool:
    expires_at = token_expires_at(token)
    return expires_at is not None and expires_at <= timezone.now()


def token_user(key: str) -> User | None:
    """The active user of an unexpired token `key`, else None (websocket `?token=`)."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or token_expired(token) or not token.user.is_active:
        return None
    return token.user


@transaction.atomic
def token_issue(*, user: User) -> Token:
    """The user's token, replaced by a fresh one when it has expired."""
    # Row lock: two logins at once must not both replace the expired token (the second
    # would delete the first's fresh one, or trip the one-token-per-user constraint).
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and token_expired(token):
        token.delete()
    return Token.objects.get_or_create(user=user)[0]


def token_revoke(*, user: User) -> None:
    """Delete the user's token: every client holding it is signed out."""
    Token.objects.filter(user=user).delete()


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once the token is older than the TTL."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed("Token has expired; obtain a new one at /api/auth/token/.")
        return user, token
