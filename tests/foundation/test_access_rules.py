"""Every endpoint with the fixed cast: the owner gets in, another user gets 404 (never a
403 that confirms the object exists) and an anonymous caller gets 401."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stitch.models import User
from tests.factories import (
    CanvasFactory,
    EntityFactory,
    FlowFactory,
    JourneyEventFactory,
    MediaFactory,
    RunFactory,
    WebhookConfigFactory,
    WebhookEventFactory,
)

pytestmark = pytest.mark.django_db


def _flow(owner: User) -> str:
    return f"/api/flows/{FlowFactory.create(owner=owner).id}/"


def _versions(owner: User) -> str:
    return f"/api/flows/{FlowFactory.create(owner=owner).id}/versions/"


def _version(owner: User) -> str:
    return f"/api/flows/{FlowFactory.create(owner=owner).id}/versions/1/"


def _run(owner: User) -> str:
    return f"/api/runs/{RunFactory.create(flow=FlowFactory.create(owner=owner)).id}/"


def _entity(owner: User) -> str:
    return f"/api/entities/{EntityFactory.create(canvas=CanvasFactory.create(owner=owner)).id}/"


def _journey_event(owner: User) -> str:
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    return f"/api/journey-events/{JourneyEventFactory.create(entity=entity).id}/"


def _webhook_config(owner: User) -> str:
    config = WebhookConfigFactory.create(canvas=CanvasFactory.create(owner=owner))
    return f"/api/webhook-configs/{config.id}/"


def _webhook_event(owner: User) -> str:
    config = WebhookConfigFactory.create(canvas=CanvasFactory.create(owner=owner))
    return f"/api/webhook-events/{WebhookEventFactory.create(webhook_config=config).id}/"


def _media(owner: User) -> str:
    return f"/api/media/{MediaFactory.create(user=owner).id}/"


DETAIL_URLS: dict[str, Callable[[User], str]] = {
    "flow": _flow,
    "flow versions": _versions,
    "flow version": _version,
    "run": _run,
    "entity": _entity,
    "journey event": _journey_event,
    "webhook config": _webhook_config,
    "webhook event": _webhook_event,
    "media": _media,
}

LISTS = {
    "/api/flows/": _flow,
    "/api/runs/": _run,
    "/api/entities/": _entity,
    "/api/journey-events/": _journey_event,
    "/api/webhook-configs/": _webhook_config,
    "/api/webhook-events/": _webhook_event,
    "/api/media/": _media,
}


@pytest.mark.parametrize("name", DETAIL_URLS)
def test_only_the_owner_can_read_an_object(
    name: str, owner: User, owner_client: Any, other_client: Any, anon_client: Any
) -> None:
    url = DETAIL_URLS[name](owner)
    assert owner_client.get(url).status_code == 200
    response = other_client.get(url)
    assert response.status_code == 404
    assert "detail" in response.json()
    assert anon_client.get(url).status_code == 401


@pytest.mark.parametrize("url", LISTS)
def test_lists_show_only_the_callers_objects(
    url: str, owner: User, other: User, owner_client: Any, other_client: Any, anon_client: Any
) -> None:
    LISTS[url](owner)
    assert owner_client.get(url).json()["count"] == 1
    assert other_client.get(url).json()["count"] == 0
    assert anon_client.get(url).status_code == 401


@pytest.mark.parametrize("name", ["flow", "entity", "webhook config"])
def test_another_user_can_neither_change_nor_delete_an_object(
    name: str, owner: User, other_client: Any, owner_client: Any
) -> None:
    url = DETAIL_URLS[name](owner)
    assert other_client.patch(url, {"name": "mine now"}, format="json").status_code == 404
    assert other_client.delete(url).status_code == 404
    assert owner_client.get(url).json()["name"] != "mine now"


@pytest.mark.parametrize("name", ["flow", "entity", "webhook config"])
def test_an_anonymous_caller_cannot_change_anything(
    name: str, owner: User, anon_client: Any, owner_client: Any
) -> None:
    url = DETAIL_URLS[name](owner)
    assert anon_client.patch(url, {"name": "x"}, format="json").status_code == 401
    assert anon_client.delete(url).status_code == 401
    assert owner_client.get(url).status_code == 200


def test_a_malformed_id_is_404_not_an_error(owner_client: Any) -> None:
    urls = (
        "/api/flows/not-a-uuid/",
        "/api/entities/123/",
        "/api/journey-events/x/",
        # Shaped like a UUID (36 hex digits and dashes) without being one.
        f"/api/flows/{'-' * 36}/versions/",
        f"/api/flows/{'a' * 36}/versions/1/",
    )
    for url in urls:
        response = owner_client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
