"""`p90_seconds` per node in GET /api/flows/{id}/analytics/."""

from __future__ import annotations

import pytest

from tests.factories import CanvasFactory, EntityFactory
from tests.runs.analytics_history import T0, leave

pytestmark = pytest.mark.django_db


def test_each_node_reports_the_90th_percentile_of_time_spent(owner_client, owner) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    for seconds in range(10, 101, 10):  # ten stays: 10 s .. 100 s
        leave(entity, "leads", seconds, T0)
    response = owner_client.get(f"/api/flows/{canvas.pk}/analytics/")
    nodes = {row["id"]: row for row in response.json()["nodes"]}
    assert nodes["leads"]["median_seconds"] == 55.0
    assert nodes["leads"]["p90_seconds"] == 91.0  # linear interpolation, like the median
    assert nodes["customers"]["p90_seconds"] is None
