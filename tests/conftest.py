"""The fixed cast: `owner`, `other` (another user) and `anon`, each with an API client."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import UserFactory


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="owner")


@pytest.fixture
def other(db: None) -> User:
    return UserFactory.create(username="other")


@pytest.fixture
def owner_client(owner: User) -> APIClient:
    return client_for(owner)


@pytest.fixture
def other_client(other: User) -> APIClient:
    return client_for(other)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
