"""What runs report (SPEC 4): template summaries, cancel notices, settled snapshots,
late callbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from flows import engine
from flows.models import Run
from tests.engine.conftest import callback, detail, edge, node, start, workflow
from tests.entities.live_servers import receive, threaded_server

pytestmark = pytest.mark.django_db(transaction=True)


def spec_summary(statuses: list[str]) -> str:
    """SPEC 4, word for word: failed if any failed, else running if any runs, else
    waiting_for_user if any waits, else pending if any is pending, else completed if
    all completed, else skipped."""
    for status in ("failed", "running", "waiting_for_user", "pending"):
        if status in statuses:
            return status
    return "completed" if all(s == "completed" for s in statuses) else "skipped"


@pytest.mark.parametrize(
    "statuses",
    [
        ["completed", "failed", "running"],
        ["completed", "running", "waiting_for_user"],
        ["waiting_for_user", "pending", "completed"],
        ["pending", "completed"],
        ["completed", "completed"],
        ["completed", "skipped"],
        ["skipped", "skipped"],
        ["waiting_for_user", "skipped"],
    ],
)
def test_a_template_summarises_its_instances_as_spec_4_says(statuses) -> None:
    assert engine.summary(statuses) == spec_summary(statuses)


def fan_out(owner, member: dict):
    return workflow(
        owner,
        [node("s", "Splitter", arrayPath="$.items"), member, node("c", "Collector")],
        [edge("s", member["id"]), edge(member["id"], "c")],
    )


def test_a_template_whose_instances_wait_for_a_person_reports_waiting(owner, owner_client):
    flow = fan_out(owner, node("review", "UX"))
    run = start(owner_client, flow, input={"items": [1, 2]})
    assert detail(owner_client, run["id"])["node_states"]["review"]["status"] == "waiting_for_user"


def test_after_a_cancel_a_template_with_completed_and_skipped_instances_is_skipped(
    owner, owner_client, worker, run_jobs
):
    flow = fan_out(owner, node("w", webhookUrl=worker.url))
    run = start(owner_client, flow, input={"items": [1, 2]})
    run_jobs()
    assert callback(worker, "w_0", status="completed", output=1).status_code == 200
    assert owner_client.post(f"/api/runs/{run['id']}/cancel/").status_code == 200
    states = detail(owner_client, run["id"])["node_states"]
    assert (states["w_0"]["status"], states["w_1"]["status"]) == ("completed", "skipped")
    assert states["w"]["status"] == "skipped"
    snapshot = Run.objects.get(pk=run["id"]).node_states
    assert snapshot["w"]["status"] == "skipped"
    assert snapshot == engine.node_states(Run.objects.get(pk=run["id"]))


def test_the_snapshot_of_a_settled_run_equals_its_rows_after_a_retry(
    owner, owner_client, worker, run_jobs
):
    worker.script("w_1", (400, {"no": True}))
    worker.always("w", 200, {"status": "completed", "output": "ok"})
    flow = fan_out(owner, node("w", webhookUrl=worker.url))
    run = start(owner_client, flow, input={"items": [1, 2, 3]})
    run_jobs()
    failed = Run.objects.get(pk=run["id"])
    assert failed.status == "failed"
    assert failed.node_states == engine.node_states(failed)
    assert failed.node_states["w"]["status"] == "failed"
    owner_client.post(f"/api/runs/{run['id']}/nodes/w/retry/")
    run_jobs()
    done = Run.objects.get(pk=run["id"])
    assert done.status == "completed"
    assert done.node_states == engine.node_states(done)
    assert done.node_states["w"]["status"] == "completed"
    assert detail(owner_client, run["id"])["node_states"] == done.node_states


def test_a_callback_after_a_cancel_is_shown_in_the_runs_late_callbacks(
    owner, owner_client, worker, run_jobs
):
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    owner_client.post(f"/api/runs/{run['id']}/cancel/")
    assert callback(worker, "a", status="failed", error="too late").json() == {"result": "ignored"}
    [late] = detail(owner_client, run["id"])["late_callbacks"]
    assert late | {"received_at": None} == {
        "node_id": "a",
        "attempt": 1,
        "received_at": None,
        "reason": "run_cancelled",
        "status": "failed",
        "output": None,
        "error": "too late",
    }


def test_a_run_without_late_callbacks_shows_an_empty_list(owner, owner_client):
    run = start(owner_client, workflow(owner, [node("a", "UX")], []))
    assert detail(owner_client, run["id"])["late_callbacks"] == []


# --- run.updated on cancel ------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    with threaded_server() as hostport:
        yield hostport


def test_cancel_announces_every_node_it_skips(server, owner, owner_client, worker, run_jobs):
    flow = workflow(
        owner,
        [
            node("a", webhookUrl=worker.url),
            node("s", "Splitter", arrayPath="$.items"),
            node("w", webhookUrl=worker.url),
            node("c", "Collector"),
            node("after", "UX"),
        ],
        [edge("s", "w"), edge("w", "c"), edge("a", "after"), edge("c", "after")],
    )
    url = f"ws://{server}/ws/flows/{flow.pk}/?token={owner.auth_token.key}"
    with connect(url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        run = start(owner_client, flow, input={"items": [1, 2, 3]})
        run_jobs()
        callback(worker, "w_1", status="completed", output=1)
        response = owner_client.post(f"/api/runs/{run['id']}/cancel/")
        assert response.status_code == 200
        changed = response.json()["changed_nodes"]
        assert {n: s["status"] for n, s in changed.items()} == {
            "a": "skipped",
            "w_0": "skipped",
            "w_2": "skipped",
            "c": "skipped",
            "after": "skipped",
        }
        seen: dict[str | None, str] = {}
        while seen.get(None) != "cancelled":
            message = receive(ws, timeout=10)  # unpacks batch frames (README, Realtime)
            if message["type"] == "run.updated" and message["run_id"] == run["id"]:
                seen[message["node_id"]] = message["status"]
    final = detail(owner_client, run["id"])["node_states"]
    assert {n: seen[n] for n in final} == {n: s["status"] for n, s in final.items()}
    assert seen["w"] == "skipped"
