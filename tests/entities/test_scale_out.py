"""Two web processes and one worker process on Redis: every socket sees every move."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from entities.tasks import entity_manual_move_job
from tests.entities.live_servers import (
    ROOT,
    child_env,
    echo_workflow,
    free_port,
    messages_until,
    processes,
    receive,
    redis_url,
    run_finished,
    uvicorn_command,
    wait_until_serving,
)
from tests.factories import CanvasFactory, EntityFactory, FlowFactory


def next_update(ws: ClientConnection) -> dict:
    message = receive(ws, timeout=20)
    assert message["type"] == "entity.updated", message
    return message


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_moves_from_a_web_process_and_a_worker_reach_sockets_on_both_web_processes(
    owner, tmp_path: Path
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    ports = [free_port(), free_port()]
    env = child_env(REDIS_URL=redis_url(), RUN_JOBS_IN_WEB="false")
    worker = [str(ROOT / ".venv/bin/python"), "manage.py", "procrastinate", "worker"]
    commands = [*(uvicorn_command(port) for port in ports), worker]
    workflow = FlowFactory.create(owner=owner, graph=echo_workflow())
    token = owner.auth_token.key

    with processes(commands, env, tmp_path / "logs"):
        for port in ports:
            wait_until_serving(port)
        with ExitStack() as stack:
            sockets = [
                stack.enter_context(
                    connect(f"ws://127.0.0.1:{port}/ws/flows/{canvas.pk}/?token={token}")
                )
                for port in ports
            ]
            for ws in sockets:
                assert receive(ws, timeout=10)["type"] == "snapshot"

            moved = httpx.post(
                f"http://127.0.0.1:{ports[0]}/api/entities/{entity.pk}/move/",
                json={"edge_id": "e-leads-customers"},
                headers={"Authorization": f"Token {token}"},
            )
            assert moved.status_code == 200, moved.text
            for ws in sockets:
                assert next_update(ws)["event"]["event_type"] == "edge_start"

            # A run started through the other web process moves the entity from the
            # worker process: progress as its nodes complete, arrival when it completes.
            started = httpx.post(
                f"http://127.0.0.1:{ports[1]}/api/flows/{workflow.pk}/runs/",
                json={"entity_id": str(entity.pk), "input": {"hello": "world"}},
                headers={"Authorization": f"Token {token}"},
            )
            assert started.status_code == 201, started.text
            run_id = started.json()["id"]
            for ws in sockets:
                seen = messages_until(ws, run_finished(run_id))
                moves = [m["event"]["event_type"] for m in seen if m["type"] == "entity.updated"]
                assert moves == ["edge_progress", "edge_progress", "node_arrival"]
                arrival = next(m for m in seen if m.get("event", {}).get("node_id") == "customers")
                assert arrival["entity"]["current_node_id"] == "customers"
                runs = [m for m in seen if m["type"] == "run.updated"]
                node_updates = {(m["node_id"], m["status"]) for m in runs if m["node_id"]}
                assert {("a", "completed"), ("b", "completed")} <= node_updates

            # A job of ours, also committed by the worker process.
            entity_manual_move_job.defer(
                entity_id=str(entity.pk), node_id="churned", metadata={"by": "job"}
            )
            for ws in sockets:
                message = next_update(ws)
                assert message["entity"]["current_node_id"] == "churned"
                assert message["event"]["metadata"] == {"by": "job"}
