from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from flows import engine
from flows.models import RunNode
from tests.engine.conftest import detail, edge, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 200


def _post_callbacks(bodies: list[dict]) -> list[int]:
    client = APIClient()
    codes = []
    try:
        for body in bodies:
            url = urlsplit(body["callback_url"])
            response = client.post(
                f"{url.path}?{url.query}",
                {"status": "completed", "output": {"i": int(body["node_id"].rsplit("_", 1)[1])}},
                format="json",
            )
            codes.append(response.status_code)
    finally:
        connections.close_all()
    return codes


def test_200_simultaneous_callbacks_complete_a_fan_out_exactly_once(
    owner, owner_client, worker, run_jobs
):
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="items"),
            node("w", webhookUrl=worker.url),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )
    run = start(owner_client, flow, input={"items": list(range(WIDTH))})
    run_jobs()
    dispatched = worker.bodies()
    assert len(dispatched) == WIDTH
    assert Counter(b["node_id"] for b in dispatched).most_common(1)[0][1] == 1

    chunks = [dispatched[i::16] for i in range(16)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = [code for result in pool.map(_post_callbacks, chunks) for code in result]
    assert codes == [200] * WIDTH

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    collector = final["node_states"]["c"]
    assert collector["attempts"] == 1
    assert collector["output"] == [{"i": i} for i in range(WIDTH)]
    assert (
        sum(
            1
            for k, v in final["node_states"].items()
            if k.startswith("w_") and v["status"] == "completed"
        )
        == WIDTH
    )
    run_jobs()
    assert len(worker.bodies()) == WIDTH  # nothing dispatched twice


def test_jobs_are_deferred_in_the_transaction_that_starts_the_run(owner, worker):
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    with pytest.raises(RuntimeError), transaction.atomic():
        engine.run_start(flow=flow)
        raise RuntimeError("roll back")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'engine.dispatch_node'"
        )
        assert cursor.fetchone()[0] == 0
    assert not RunNode.objects.exists()
    engine.run_start(flow=flow)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'engine.dispatch_node'"
        )
        assert cursor.fetchone()[0] == 1
    cursor = connection.cursor()
    cursor.execute("DELETE FROM procrastinate_jobs")
