"""GET /api/media/: only the caller's media, filtered by type, tags (all must match)
and a name/description search."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import MediaFactory

pytestmark = pytest.mark.django_db


def names(client: APIClient, query: str = "") -> set[str]:
    response = client.get(f"/api/media/{query}")
    assert response.status_code == 200, response.json()
    return {item["name"] for item in response.json()["results"]}


@pytest.fixture
def library(owner: User, other: User) -> None:
    MediaFactory.create(user=owner, name="hero", tags=["scene", "hero", "draft"])
    MediaFactory.create(user=owner, name="villain", tags=["scene", "villain"])
    MediaFactory.create(user=owner, name="logo", tags=["brand"], description="Company LOGO")
    MediaFactory.create(
        user=owner, name="intro", media_type="video", mime_type="video/mp4", tags=["scene"]
    )
    MediaFactory.create(user=other, name="someone else's", tags=["scene", "hero"])


def test_users_see_only_their_own_media(owner_client: APIClient, library: None) -> None:
    assert names(owner_client) == {"hero", "villain", "logo", "intro"}
    assert owner_client.get("/api/media/").json()["count"] == 4


def test_every_given_tag_must_match(owner_client: APIClient, library: None) -> None:
    assert names(owner_client, "?tag=scene") == {"hero", "villain", "intro"}
    assert names(owner_client, "?tag=scene&tag=hero") == {"hero"}
    assert names(owner_client, "?tag=scene&tag=brand") == set()
    assert names(owner_client, "?tag=nothing") == set()


def test_media_type_filter(owner_client: APIClient, library: None) -> None:
    assert names(owner_client, "?media_type=video") == {"intro"}
    assert names(owner_client, "?media_type=video&tag=hero") == set()


def test_an_unknown_media_type_filter_is_a_400(owner_client: APIClient) -> None:
    response = owner_client.get("/api/media/?media_type=hologram")
    assert response.status_code == 400
    assert "media_type" in response.json()


def test_search_looks_in_name_and_description_ignoring_case(
    owner_client: APIClient, library: None
) -> None:
    assert names(owner_client, "?search=VIL") == {"villain"}
    assert names(owner_client, "?search=company logo") == {"logo"}
    assert names(owner_client, "?search=else") == set()


def test_lists_are_paginated(owner_client: APIClient, owner: User) -> None:
    MediaFactory.create_batch(3, user=owner)
    body = owner_client.get("/api/media/").json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert body["count"] == 3


@pytest.mark.parametrize("param", ["tag", "search"])
def test_a_nul_character_in_a_filter_is_a_400_naming_it(owner_client, param: str) -> None:
    response = owner_client.get(f"/api/media/?{param}=a%00b")
    assert response.status_code == 400
    assert param in response.json()
