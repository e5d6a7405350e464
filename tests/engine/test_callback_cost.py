"""SPEC 4: the cost of one callback does not grow with the number of sibling instances.

Cost here is what the request makes the database do and send back: the number of
statements, and the bytes of every row they return (read from libpq's result). Both
are counted for the same callback in a 10-way and a 200-way fan-out of 1 KB elements.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from rest_framework.test import APIClient

from flows.engine.tokens import callback_url
from flows.models import RunNode
from tests.engine.conftest import edge, node, start, workflow

pytestmark = pytest.mark.django_db
NARROW, WIDE = 10, 200
# Ids and counters differ by a few characters between the two widths; a whole array
# of 1 KB elements would differ by ~190 KB.
SLACK_BYTES = 2000


class Cost:
    def __init__(self) -> None:
        self.statements = 0
        self.bytes_read = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context):
        result = execute(sql, params, many, context)
        self.statements += 1
        pgresult = getattr(context["cursor"].cursor, "pgresult", None)
        if pgresult is not None:
            for row in range(pgresult.ntuples):
                for column in range(pgresult.nfields):
                    value = pgresult.get_value(row, column)
                    self.bytes_read += len(value) if value is not None else 0
        return result


@contextmanager
def measured():
    cost = Cost()
    with connection.execute_wrapper(cost):
        yield cost


def items(width: int) -> list[dict[str, Any]]:
    return [{"n": i, "payload": "x" * 1000} for i in range(width)]


def chain_with_a_second_splitter_edge(owner):
    """s -> w1 -> w2 -> c, and s -> w2: w2's instances merge their element and w1's
    output, so firing one reads from the Splitter's row. (No dispatch job is run: the
    callback comes straight to the URL the worker would have been given.)"""
    url = "http://127.0.0.1:9/unused"
    return workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="$.items"),
            node("w1", webhookUrl=url),
            node("w2", webhookUrl=url),
            node("c", "Collector"),
        ],
        [edge("s", "w1"), edge("s", "w2"), edge("w1", "w2"), edge("w2", "c")],
    )


def callback_cost(owner, owner_client, width: int) -> tuple[Cost, Any]:
    flow = chain_with_a_second_splitter_edge(owner)
    run = start(owner_client, flow, input={"items": items(width)})
    url = urlsplit(callback_url(run["id"], "w1_3", 1))
    with measured() as cost:
        response = APIClient().post(
            f"{url.path}?{url.query}", {"status": "completed", "output": {"ok": 3}}, format="json"
        )
    assert response.json() == {"result": "applied"}
    return cost, RunNode.objects.get(run_id=run["id"], node_id="w2_3").input


def test_a_callback_costs_the_same_in_a_narrow_and_a_wide_fan_out(owner, owner_client):
    narrow, narrow_input = callback_cost(owner, owner_client, NARROW)
    wide, wide_input = callback_cost(owner, owner_client, WIDE)
    assert narrow_input == wide_input == {**items(1)[0] | {"n": 3}, "ok": 3}
    assert wide.statements == narrow.statements
    assert wide.bytes_read <= narrow.bytes_read + SLACK_BYTES, (narrow.bytes_read, wide.bytes_read)


def ux_fan_out(owner):
    return workflow(
        owner,
        [node("s", "Splitter", arrayPath="$.items"), node("ask", "UX"), node("c", "Collector")],
        [edge("s", "ask"), edge("ask", "c")],
    )


def action_cost(owner, owner_client, width: int) -> tuple[Cost, int]:
    run = start(owner_client, ux_fan_out(owner), input={"items": items(width)})
    path = f"/api/runs/{run['id']}/nodes/ask_3/complete/"
    with measured() as cost:
        response = owner_client.post(path, {"output": {"ok": True}}, format="json")
    assert response.status_code == 200
    assert response.json()["changed_nodes"]["ask_3"]["status"] == "completed"
    return cost, len(response.content)


def test_completing_one_ux_instance_costs_the_same_in_a_narrow_and_a_wide_fan_out(
    owner, owner_client
):
    narrow, narrow_size = action_cost(owner, owner_client, NARROW)
    wide, wide_size = action_cost(owner, owner_client, WIDE)
    assert wide.statements == narrow.statements
    assert wide.bytes_read <= narrow.bytes_read + SLACK_BYTES, (narrow.bytes_read, wide.bytes_read)
    assert wide_size <= narrow_size + 100


def test_a_sibling_callback_is_four_statements(owner, owner_client):
    """Lock the run, read the node with its Collector, write both, write the run's
    counters (plus the transaction's own BEGIN/COMMIT): the fewest this design allows."""
    url = "http://127.0.0.1:9/unused"
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="$.items"),
            node("w", webhookUrl=url),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )
    run = start(owner_client, flow, input={"items": items(WIDE)})
    path = urlsplit(callback_url(run["id"], "w_7", 1))
    seen: list[str] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's own
            seen.append(" ".join(sql.split()[:3]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = APIClient().post(
            f"{path.path}?{path.query}", {"status": "completed", "output": 7}, format="json"
        )
    assert response.json() == {"result": "applied"}
    assert [s.split(" ", 1)[0] for s in seen] == ["SELECT", "SELECT", "UPDATE", "UPDATE"], seen
