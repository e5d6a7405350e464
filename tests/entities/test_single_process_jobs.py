"""One web process without Redis runs the background jobs too (the demo set-up): a move
committed by a job on that process's worker still reaches its websockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from entities.tasks import entity_manual_move_job
from tests.entities.live_servers import (
    child_env,
    echo_workflow,
    free_port,
    messages_until,
    processes,
    receive,
    run_finished,
    uvicorn_command,
    wait_until_serving,
)
from tests.factories import CanvasFactory, EntityFactory, FlowFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_jobs_run_by_the_web_process_reach_its_sockets(owner, tmp_path: Path) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    workflow = FlowFactory.create(owner=owner, graph=echo_workflow())
    port, token = free_port(), owner.auth_token.key
    # In-process channel layer, jobs on the server's own loop (stitch.lifespan).
    env = child_env(RUN_JOBS_IN_WEB="true")
    with processes([uvicorn_command(port)], env, tmp_path / "logs"):
        wait_until_serving(port)
        url = f"ws://127.0.0.1:{port}/ws/flows/{canvas.pk}/?token={token}"
        with connect(url) as ws:
            assert receive(ws, timeout=10)["type"] == "snapshot"
            entity_manual_move_job.defer(entity_id=str(entity.pk), node_id="leads")
            moved = receive(ws, timeout=20)
            assert moved["type"] == "entity.updated"
            assert moved["entity"]["current_node_id"] == "leads"

            httpx.post(
                f"http://127.0.0.1:{port}/api/entities/{entity.pk}/move/",
                json={"edge_id": "e-leads-customers"},
                headers={"Authorization": f"Token {token}"},
            ).raise_for_status()
            started = httpx.post(
                f"http://127.0.0.1:{port}/api/flows/{workflow.pk}/runs/",
                json={"entity_id": str(entity.pk)},
                headers={"Authorization": f"Token {token}"},
            )
            assert started.status_code == 201, started.text
            seen = messages_until(ws, run_finished(started.json()["id"]))
            arrivals = [m for m in seen if m.get("event", {}).get("event_type") == "node_arrival"]
            assert [m["entity"]["current_node_id"] for m in arrivals] == ["customers"]
