"""API tokens expire (API_TOKEN_TTL_SECONDS) and their holder can revoke them (SPEC 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LOGIN = {"username": "owner", "password": "pw-for-tests"}


def age(token_key: str, seconds: int) -> None:
    Token.objects.filter(key=token_key).update(created=timezone.now() - timedelta(seconds=seconds))


def test_the_token_endpoint_says_when_the_token_expires(owner, anon_client, settings) -> None:
    settings.API_TOKEN_TTL_SECONDS = 3600
    body = anon_client.post("/api/auth/token/", LOGIN, format="json").json()
    token = Token.objects.get(key=body["token"])
    assert body["expires_at"].startswith(
        (token.created + timedelta(seconds=3600)).strftime("%Y-%m-%dT%H:%M")
    )


def test_an_expired_token_is_refused_with_401(owner, settings) -> None:
    settings.API_TOKEN_TTL_SECONDS = 60
    age(owner.auth_token.key, 61)
    response = client_for(owner).get("/api/flows/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_logging_in_again_replaces_an_expired_token(owner, anon_client, settings) -> None:
    settings.API_TOKEN_TTL_SECONDS = 60
    old = owner.auth_token.key
    age(old, 61)
    # An expired token still in the client's header does not stand in the way.
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    fresh = anon_client.post("/api/auth/token/", LOGIN, format="json").json()["token"]
    assert fresh != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {fresh}")
    assert api.get("/api/flows/").status_code == 200


def test_an_unexpired_token_is_handed_out_again(owner, anon_client) -> None:
    first = anon_client.post("/api/auth/token/", LOGIN, format="json").json()["token"]
    assert first == owner.auth_token.key
    assert anon_client.post("/api/auth/token/", LOGIN, format="json").json()["token"] == first


def test_a_user_revokes_their_own_token(owner, other) -> None:
    client = client_for(owner)
    assert client.post("/api/auth/token/revoke/").status_code == 204
    assert client.get("/api/flows/").status_code == 401
    assert not Token.objects.filter(user=owner).exists()
    # Only their own: the other user's token still works.
    assert client_for(other).get("/api/flows/").status_code == 200


def test_revoking_needs_credentials(anon_client) -> None:
    assert anon_client.post("/api/auth/token/revoke/").status_code == 401


def test_a_zero_ttl_means_tokens_never_expire(owner, settings) -> None:
    settings.API_TOKEN_TTL_SECONDS = 0
    age(owner.auth_token.key, 10 * 365 * 24 * 3600)
    assert client_for(owner).get("/api/flows/").status_code == 200
