"""/ws/tasks/: the inbox's live channel, on a real uvicorn server with a real client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from flows import engine
from tests.entities.live_servers import threaded_server
from tests.runs.conftest import finish, review_flow, split_flow, start, ux_only_flow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    with threaded_server() as hostport:
        yield hostport


def tasks_socket(server: str, token: str | None = None, **kwargs: Any) -> ClientConnection:
    query = f"?token={token}" if token else ""
    return connect(f"ws://{server}/ws/tasks/{query}", open_timeout=10, **kwargs)


def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def test_a_new_task_and_its_completion_reach_the_owners_socket(server, owner, other) -> None:
    flow = ux_only_flow(owner)
    ux_only_flow(other)
    with tasks_socket(server, owner.auth_token.key) as ws:
        assert receive(ws) == {"type": "subscribed", "workflows": 1}
        run = start(flow)
        assert receive(ws) | {"flow_id": None} == {
            "type": "run.updated",
            "run_id": str(run.pk),
            "flow_id": None,
            "node_id": "review",
            "status": "waiting_for_user",
        }
        assert receive(ws)["status"] == "waiting"  # the run's own status (node_id null)
        engine.ux_complete(run=run, node_id="review", output={})
        assert [receive(ws)["status"], receive(ws)["status"]] == ["completed", "completed"]


def test_it_forwards_nothing_from_other_users_or_about_busy_workers(server, owner, other) -> None:
    ux_only_flow(owner)
    strangers = ux_only_flow(other)
    busy = split_flow(owner)
    with tasks_socket(server, owner.auth_token.key) as ws:
        assert receive(ws)["workflows"] == 2
        stranger_run = start(strangers)
        run = start(busy, {"items": [1, 2, 3]})
        finish(run, "w_0")
        seen = [receive(ws)]
        while seen[-1]["node_id"] != "w_0":
            seen.append(receive(ws))
        # The Splitter's completion and w_0's may end a wait; the split's "running"
        # messages (template, instances) and the stranger's new task are not forwarded.
        assert [(m["node_id"], m["status"]) for m in seen] == [
            ("s", "completed"),
            ("w_0", "completed"),
        ]
        assert {m["run_id"] for m in seen} == {str(run.pk)} != {str(stranger_run.pk)}


def test_a_socket_without_credentials_is_closed_with_4403(server) -> None:
    with tasks_socket(server) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_a_review_flow_with_a_later_worker_is_joined_too(server, owner) -> None:
    flow = review_flow(owner)
    with tasks_socket(server, owner.auth_token.key) as ws:
        receive(ws)
        run = start(flow)
        assert receive(ws)["run_id"] == str(run.pk)
