from __future__ import annotations

import pytest

from tests.factories import CanvasFactory, FlowFactory

pytestmark = pytest.mark.django_db


def test_owner_lists_only_their_flows(owner_client, owner, other) -> None:
    mine = FlowFactory.create(owner=owner)
    CanvasFactory.create(owner=other)
    response = owner_client.get("/api/flows/")
    assert response.status_code == 200
    assert [f["id"] for f in response.json()["results"]] == [str(mine.id)]
