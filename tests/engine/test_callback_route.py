"""Callbacks through the ASGI route uvicorn serves (flows/callback_route.py): the same
answers as the DRF view, concurrent callbacks of one run coalesced into shared
transactions with each still judged on its own, and the Collector fired exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from flows import engine
from flows.engine.tokens import callback_url
from stitch import metrics
from tests.engine.conftest import detail, edge, node, start, workflow
from tests.entities.live_servers import threaded_server

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 60
WORKER = "http://127.0.0.1:9/never-called"  # dispatch jobs stay queued


@pytest.fixture
def server() -> Iterator[str]:
    with threaded_server() as hostport:
        yield f"http://{hostport}"


def fan_out(owner: Any, client: Any, width: int = WIDTH) -> dict[str, Any]:
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="items"),
            node("w", webhookUrl=WORKER),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )
    return start(client, flow, input={"items": list(range(width))})


def path_of(run_id: Any, node_id: str, attempt: int = 1) -> str:
    url = urlsplit(callback_url(run_id, node_id, attempt))
    return f"{url.path}?{url.query}"


def post(server: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return httpx.post(f"{server}{path}", timeout=30, **kwargs)


def test_simultaneous_callbacks_through_the_route_complete_a_fan_out_once(
    server, owner, owner_client
):
    run = fan_out(owner, owner_client)
    paths = [(i, path_of(run["id"], f"w_{i}")) for i in range(WIDTH)]

    def send(chunk: list[tuple[int, str]]) -> list[tuple[int, Any]]:
        with httpx.Client(base_url=server, timeout=30) as client:
            answers = []
            for i, path in chunk:
                response = client.post(path, json={"status": "completed", "output": {"i": i}})
                answers.append((response.status_code, response.json()))
            return answers

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [a for chunk in pool.map(send, [paths[i::12] for i in range(12)]) for a in chunk]

    assert Counter(code for code, _ in answers) == {200: WIDTH}
    assert {body["result"] for _, body in answers} == {"applied"}
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    collector = final["node_states"]["c"]
    assert (collector["status"], collector["attempts"]) == ("completed", 1)
    assert collector["output"] == [{"i": i} for i in range(WIDTH)]
    # A repeat changes nothing; a contradicting one is refused and recorded.
    again = post(server, paths[3][1], {"status": "completed", "output": {"i": 3}})
    assert (again.status_code, again.json()) == (200, {"result": "unchanged"})
    contra = post(server, paths[3][1], {"status": "failed", "error": "no"})
    assert contra.status_code == 409 and contra.json()["result"] == "conflict"
    assert [c["node_id"] for c in detail(owner_client, run["id"])["late_callbacks"]] == ["w_3"]


def test_the_route_refuses_what_the_view_refuses(server, owner, owner_client):
    run = fan_out(owner, owner_client, width=3)
    good = path_of(run["id"], "w_0")
    url = urlsplit(good)

    forged = post(server, f"{url.path}?token=1.{'0' * 64}", {"status": "completed"})
    assert (forged.status_code, forged.json()) == (403, {"detail": "invalid callback token"})
    assert post(server, url.path, {"status": "completed"}).status_code == 403
    other_node = path_of(run["id"], "nope")
    assert post(server, other_node, {"status": "completed"}).status_code == 404
    nul_node = f"/api/runs/{run['id']}/nodes/w%00/callback/?token=1.{'0' * 64}"
    assert post(server, nul_node, {"status": "completed"}).status_code == 404
    assert owner_client.post(nul_node, {"status": "completed"}, format="json").status_code == 404
    stale = post(server, path_of(run["id"], "w_1", attempt=2), {"status": "completed"})
    assert stale.status_code == 409 and stale.json()["result"] == "stale"

    bad_status = post(server, good, {"status": "done", "error": ["x"]})
    assert bad_status.status_code == 400
    assert bad_status.json() == {
        "status": ['"done" is not a valid choice.'],
        "error": ["Not a valid string."],
    }
    assert post(server, good, {}).json() == {"status": ["This field is required."]}
    assert post(server, good, [1]).json() == {"body": ["must be a JSON object"]}
    nul = post(server, good, content=b'{"status": "completed", "output": {"a": "\\u0000"}}')
    assert nul.status_code == 400 and list(nul.json()) == ["output"]
    broken = post(server, good, content=b'{"status": ')
    assert broken.status_code == 400 and list(broken.json()) == ["body"]
    assert detail(owner_client, run["id"])["node_states"]["w_0"]["status"] == "running"

    traced = post(
        server, good, {"status": "failed", "error": "  boom  "}, headers={"X-Request-ID": "trace-7"}
    )
    assert (traced.status_code, traced.json()) == (200, {"result": "applied"})
    assert traced.headers["X-Request-ID"] == "trace-7"
    assert detail(owner_client, run["id"])["node_states"]["w_0"]["error"] == "boom"


def test_a_body_over_the_limit_is_413_before_it_is_read(server, owner, owner_client, settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000
    run = fan_out(owner, owner_client, width=1)
    body = {"status": "completed", "output": "x" * 2000}
    response = post(server, path_of(run["id"], "w_0"), body)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["body"][0]
    assert detail(owner_client, run["id"])["node_states"]["w_0"]["status"] == "running"


def test_callbacks_through_the_route_are_counted(server, owner, owner_client):
    run = fan_out(owner, owner_client, width=2)

    def count(result: str) -> float:
        return float(metrics.CALLBACKS.labels(result)._value.get())

    before = (count("applied"), count("forbidden"))
    post(server, path_of(run["id"], "w_0"), {"status": "completed"})
    post(server, path_of(run["id"], "w_1").split("?")[0], {"status": "completed"})
    assert (count("applied"), count("forbidden")) == (before[0] + 1, before[1] + 1)


def test_a_run_the_route_does_not_know_is_404(server):
    run_id = "00000000-0000-4000-8000-000000000000"
    response = post(server, path_of(run_id, "a"), {"status": "completed"})
    assert response.status_code == 404


def test_other_methods_on_the_path_go_to_django(server, owner, owner_client):
    run = fan_out(owner, owner_client, width=1)
    response = httpx.get(f"{server}{path_of(run['id'], 'w_0')}")
    assert response.status_code == 405
    assert engine.node_states(engine_run(run["id"]))["w_0"]["status"] == "running"


def engine_run(run_id: str) -> Any:
    from flows.models import Run

    return Run.objects.get(pk=run_id)
