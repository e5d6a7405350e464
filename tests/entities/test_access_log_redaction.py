"""`?token=` (websocket authentication) never reaches uvicorn's logs (SPEC 9)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.entities.live_servers import (
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.factories import CanvasFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_token_in_a_query_string_is_redacted_from_the_server_log(owner, tmp_path: Path):
    canvas = CanvasFactory.create(owner=owner)
    token = owner.auth_token.key
    port = free_port()
    command = [*uvicorn_command(port)[:-2], "--log-level", "info"]
    logs = tmp_path / "logs"
    # Request lines are the product's own (LOG_REQUESTS, stitch.middleware: the path
    # without its query string); uvicorn's access log stays off.
    with processes([command], child_env(LOG_REQUESTS="true"), logs):
        wait_until_serving(port)
        url = f"ws://127.0.0.1:{port}/ws/flows/{canvas.pk}/?token={token}"
        with connect(url, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        httpx.get(f"http://127.0.0.1:{port}/healthz?token={token}&x=1", timeout=10)
        log = logs / "proc-0.log"
        deadline = time.monotonic() + 10
        while "/healthz" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = log.read_text()
    assert f"/ws/flows/{canvas.pk}/?token=[redacted]" in text
    assert "path=/healthz " in text
    assert token not in text
