"""Requests the fuzzer (test_fuzz_api.py) once answered with a 5xx, pinned in-process so
each stays fixed even if the fuzzer's cases change."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import CanvasFactory

pytestmark = pytest.mark.django_db

ANALYTICS = ["", "funnel/?steps=leads,customers&", "series/?"]


def analytics_get(client: APIClient, owner: User, analytics: str, query: str) -> object:
    canvas = CanvasFactory.create(owner=owner)
    joined = analytics if analytics.endswith(("?", "&")) else analytics + "?"
    return client.get(f"/api/flows/{canvas.pk}/analytics/{joined}{query}")


@pytest.mark.parametrize("analytics", ANALYTICS)
def test_an_analytics_window_with_a_far_utc_offset_is_answered(
    owner: User, owner_client: APIClient, analytics: str
) -> None:
    # PostgreSQL takes UTC offsets up to 15:59, Python up to 23:59.
    response = analytics_get(owner_client, owner, analytics, "until=1352-07-19T15:29:13-20:57")
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]


@pytest.mark.parametrize("analytics", ANALYTICS)
@pytest.mark.parametrize(
    "query", ["since=9999-12-31T23:00:00-20:00", "since=0001-01-01T00:30:00%2B20:00"]
)
def test_an_analytics_window_outside_the_calendar_in_utc_is_400_naming_it(
    owner: User, owner_client: APIClient, analytics: str, query: str
) -> None:
    response = analytics_get(owner_client, owner, analytics, query)
    assert response.status_code == 400, response.content  # type: ignore[attr-defined]
    assert "since" in response.json()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("until=0254-04-08T08:28:33%2B22:57", 200),
        ("since=1352-07-19T15:29:13-20:57", 200),
        ("since=9999-12-31T23:00:00-20:00", 400),
        ("until=0001-01-01T00:30:00%2B20:00", 400),
    ],
)
@pytest.mark.parametrize("listing", ["journey-events", "webhook-events", "runs"])
def test_list_filters_take_any_utc_offset_python_does(
    owner_client: APIClient, listing: str, query: str, status: int
) -> None:
    response = owner_client.get(f"/api/{listing}/?{query}")
    assert response.status_code == status, response.content
    if status == 400:
        assert query.split("=")[0] in response.json()
