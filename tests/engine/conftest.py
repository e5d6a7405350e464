"""Engine test helpers: a real worker server, graph builders, callback posting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from flows.models import Flow, Run
from stitch.models import User
from tests.engine.worker_server import WorkerServer
from tests.factories import FlowFactory


@pytest.fixture
def worker() -> Iterator[WorkerServer]:
    server = WorkerServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fast_retries(settings: Any) -> None:
    settings.WORKER_RETRY_BACKOFF_SECONDS = 0.05


def node(node_id: str, kind: str = "Worker", **data: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "position": {"x": 0, "y": 0},
        "data": {"label": node_id, **data},
    }


def edge(source: str, target: str, **data: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f"{source}-{target}", "source": source, "target": target}
    if data:
        out["data"] = data
    return out


def workflow(owner: User, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Flow:
    return FlowFactory.create(owner=owner, graph={"nodes": nodes, "edges": edges})


def start(client: APIClient, flow: Flow, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/flows/{flow.id}/runs/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def detail(client: APIClient, run_id: Any) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def states(client: APIClient, run_id: Any) -> dict[str, dict[str, Any]]:
    return detail(client, run_id)["node_states"]


def callback(
    worker: WorkerServer, node_id: str, client: APIClient | None = None, **body: Any
) -> Any:
    """POST a callback to the URL the worker received for `node_id`."""
    [dispatch] = [b for b in worker.bodies(node_id)][-1:]
    url = urlsplit(dispatch["callback_url"])
    return (client or APIClient()).post(f"{url.path}?{url.query}", body, format="json")


def run_of(run: dict[str, Any]) -> Run:
    return Run.objects.get(pk=run["id"])
