from __future__ import annotations

import pytest

from tests.engine.conftest import callback, detail, edge, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def split_flow(owner, worker, **splitter):
    return workflow(
        owner,
        [
            node("s", "Splitter", arrayPath=splitter.get("path", "$.items")),
            node("w1", webhookUrl=worker.url),
            node("w2", webhookUrl=worker.url),
            node("c", "Collector"),
            node("after", workerType="echo"),
        ],
        [edge("s", "w1"), edge("w1", "w2"), edge("w2", "c"), edge("c", "after")],
    )


def test_a_chain_between_splitter_and_collector_runs_once_per_element(
    owner, owner_client, worker, run_jobs
):
    flow = split_flow(owner, worker)
    run = start(owner_client, flow, input={"items": ["a", "b", "c"]})
    run_jobs()
    assert sorted(b["node_id"] for b in worker.bodies()) == ["w1_0", "w1_1", "w1_2"]
    assert [b["input"] for b in worker.bodies("w1_1")] == ["b"]
    for i in (2, 0, 1):  # out of order on purpose
        assert callback(worker, f"w1_{i}", status="completed", output={"i": i}).status_code == 200
    run_jobs()
    assert [b["input"] for b in worker.bodies("w2_2")] == [{"i": 2}]
    for i in (1, 2, 0):
        callback(worker, f"w2_{i}", status="completed", output=f"out{i}")
    run_jobs()
    final = detail(owner_client, run["id"])
    states = final["node_states"]
    assert final["status"] == "completed"
    assert states["s"]["output"] == ["a", "b", "c"]
    assert states["c"]["output"] == ["out0", "out1", "out2"]
    assert states["after"]["output"] == {"c": ["out0", "out1", "out2"]}
    assert states["w1"]["status"] == "completed"  # template summary
    assert {states[f"w2_{i}"]["status"] for i in range(3)} == {"completed"}


def test_an_empty_array_completes_the_collector_and_skips_the_branch(
    owner, owner_client, worker, run_jobs
):
    flow = split_flow(owner, worker)
    run = start(owner_client, flow, input={"items": []})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["output"] == []
    assert final["node_states"]["w1"]["status"] == "skipped"
    assert final["node_states"]["w2"]["status"] == "skipped"
    assert worker.requests == []


def test_a_failed_instance_fails_the_collector_naming_it_and_retry_recovers(
    owner, owner_client, worker, run_jobs
):
    worker.always("w2", 200, {"status": "completed", "output": "ok"})
    worker.script("w1_1", (400, {"bad": True}))
    worker.always("w1", 200, {"status": "completed", "output": {}})
    flow = split_flow(owner, worker)
    run = start(owner_client, flow, input={"items": [1, 2, 3]})
    run_jobs()
    failed = detail(owner_client, run["id"])
    assert failed["status"] == "failed"
    assert failed["node_states"]["c"]["status"] == "failed"
    assert "w1_1" in failed["node_states"]["c"]["error"]
    assert failed["node_states"]["w1"]["status"] == "failed"
    assert failed["node_states"]["w2_1"]["status"] == "pending"

    assert owner_client.post(f"/api/runs/{run['id']}/nodes/w1_1/retry/").status_code == 200
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["output"] == ["ok", "ok", "ok"]


def test_a_splitter_whose_path_finds_no_array_fails(owner, owner_client, worker, run_jobs):
    flow = split_flow(owner, worker)
    run = start(owner_client, flow, input={"items": "nope"})
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    assert "arrayPath" in final["node_states"]["s"]["error"]
