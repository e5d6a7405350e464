"""Run lists answer in a fixed number of queries, whatever the number of settled runs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from flows import engine
from tests.engine.conftest import node, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def _queries_for_list(client: APIClient) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/runs/")
    assert response.status_code == 200
    return len(captured), response.json()


def test_listing_settled_runs_costs_the_same_for_one_or_five(owner, owner_client, run_jobs):
    flow = workflow(owner, [node("a", workerType="echo")], [])
    engine.run_start(flow=flow, input={"n": 0})
    run_jobs()
    one, _ = _queries_for_list(owner_client)
    for n in range(1, 5):
        engine.run_start(flow=flow, input={"n": n})
    run_jobs()
    five, body = _queries_for_list(owner_client)
    assert five == one
    assert [r["status"] for r in body["results"]] == ["completed"] * 5
    assert sorted(r["node_states"]["a"]["output"]["n"] for r in body["results"]) == [0, 1, 2, 3, 4]
