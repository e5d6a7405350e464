"""Canvas nodes (sticky notes, BMC items) are transparent in workflows (SPEC 3)."""

from __future__ import annotations

import pytest

from tests.engine.conftest import callback, detail, edge, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def note(node_id: str) -> dict:
    return {"id": node_id, "type": "stickyNote", "position": {"x": 0, "y": 0}, "data": {}}


def test_a_node_after_a_canvas_node_waits_for_the_node_before_it(
    owner, owner_client, worker, run_jobs
):
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), note("note"), node("b", webhookUrl=worker.url)],
        [edge("a", "note"), edge("note", "b")],
    )
    run = start(owner_client, flow, input={"x": 1})
    assert run["node_states"]["b"]["status"] == "pending"
    assert "note" not in run["node_states"]
    run_jobs()
    assert [b["node_id"] for b in worker.bodies()] == ["a"]
    callback(worker, "a", status="completed", output={"from": "a"})
    run_jobs()
    assert [b["input"] for b in worker.bodies("b")] == [{"from": "a"}]
    callback(worker, "b", status="completed", output="done")
    assert detail(owner_client, run["id"])["status"] == "completed"


def test_a_canvas_node_inside_a_splitter_branch_is_walked_through(
    owner, owner_client, worker, run_jobs
):
    worker.always("w", 200, {"status": "completed", "output": "ok"})
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="$.items"),
            note("note"),
            node("w", webhookUrl=worker.url),
            note("after-w"),
            node("c", "Collector"),
        ],
        [edge("s", "note"), edge("note", "w"), edge("w", "after-w"), edge("after-w", "c")],
    )
    run = start(owner_client, flow, input={"items": ["x", "y"]})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    by_instance = sorted(worker.bodies(), key=lambda body: body["node_id"])
    assert [(b["node_id"], b["input"]) for b in by_instance] == [("w_0", "x"), ("w_1", "y")]
    assert final["node_states"]["c"]["output"] == ["ok", "ok"]


def test_mappings_on_a_path_through_a_canvas_node_apply_in_order(
    owner, owner_client, worker, run_jobs
):
    worker.always("a", 200, {"status": "completed", "output": {"deep": {"v": 7}, "other": 1}})
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), note("n"), node("b", webhookUrl=worker.url)],
        [edge("a", "n", mapping={"inner": "$.deep"}), edge("n", "b", mapping={"v": "$.inner.v"})],
    )
    start(owner_client, flow)
    run_jobs()
    assert [b["input"] for b in worker.bodies("b")] == [{"v": 7}]
