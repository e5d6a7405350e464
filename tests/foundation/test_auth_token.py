"""POST /api/auth/token/: username + password -> {"token"}; session auth works too."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import CanvasFactory

pytestmark = pytest.mark.django_db


def test_valid_credentials_give_the_users_token(owner, anon_client) -> None:
    response = anon_client.post(
        "/api/auth/token/", {"username": "owner", "password": "pw-for-tests"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == owner.auth_token.key
    assert set(body) == {"token", "expires_at"}


def test_the_token_authenticates_api_calls(owner) -> None:
    CanvasFactory.create(owner=owner)
    token = (
        APIClient()
        .post("/api/auth/token/", {"username": "owner", "password": "pw-for-tests"})
        .json()["token"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/flows/").json()["count"] == 1


def test_a_wrong_password_is_400_without_a_token(owner, anon_client) -> None:
    response = anon_client.post(
        "/api/auth/token/", {"username": "owner", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_missing_fields_are_named(anon_client) -> None:
    response = anon_client.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_a_bogus_token_is_401(db) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert client.get("/api/flows/").status_code == 401


def test_a_logged_in_session_can_use_the_api(owner) -> None:
    client = Client()
    client.force_login(owner)
    assert client.get("/api/flows/").status_code == 200
