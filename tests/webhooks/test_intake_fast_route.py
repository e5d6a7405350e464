"""The intake's fast route (webhooks.asgi_intake) on a real uvicorn process: the same
answers as the Django view, group commit under concurrency, idempotency under racing
copies, and every refusal left to the view."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from tests.entities.live_servers import (
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.webhooks.conftest import body_of, sample_payload, stripe_header
from webhooks.models import WebhookConfig, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)
MakeConfig = Callable[..., WebhookConfig]
# Headers that differ between any two answers.
_VARYING = {"date", "server", "content-length", "x-request-id"}


@pytest.fixture(scope="module")
def server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("fast-route")
    port = free_port()
    env = child_env(DEBUG="false", RUN_JOBS_IN_WEB="false", STITCH_VAR_DIR=str(base / "var"))
    with processes([uvicorn_command(port)], env, base / "logs"):
        wait_until_serving(port)
        yield f"http://127.0.0.1:{port}"
    log = "\n".join(p.read_text(errors="replace") for p in (base / "logs").glob("*.log"))
    assert "Traceback" not in log, log[-5000:]


def deliver(
    server: str, config: WebhookConfig, payload: dict, *, secret: str | None = None, **headers: str
) -> httpx.Response:
    body = body_of(payload)
    signed = stripe_header(secret or config.secret or "", body)
    url = f"{server}/api/webhooks/{config.endpoint_slug}/"
    all_headers = {"Content-Type": "application/json", **signed, **headers}
    return httpx.post(url, content=body, headers=all_headers, timeout=30)


def header_names(response: httpx.Response) -> set[str]:
    return {name.lower() for name in response.headers} - _VARYING


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_fast_route_answers_as_the_view_does(server: str, make_config: MakeConfig) -> None:
    config = make_config("stripe")
    # The first delivery reaches the view (cold cache), the next ones the fast route.
    by_view = deliver(server, config, sample_payload("stripe", marker="view"))
    fast = deliver(
        server, config, sample_payload("stripe", marker="fast"), **{"X-Request-ID": "req-fast-1"}
    )
    repeat = deliver(server, config, sample_payload("stripe", marker="fast"))

    assert (by_view.status_code, fast.status_code, repeat.status_code) == (202, 202, 200)
    assert header_names(fast) == header_names(by_view) == header_names(repeat)
    assert fast.headers["x-request-id"] == "req-fast-1"
    assert repeat.json() == {"event_id": fast.json()["event_id"], "status": "pending"}
    event = WebhookEvent.objects.get(pk=fast.json()["event_id"])
    assert (event.status, event.provider_event_id, event.accepted) == ("pending", "evt_fast", True)
    assert event.payload == sample_payload("stripe", marker="fast")
    job = ProcrastinateJob.objects.get(args__event_id=str(event.pk))
    assert job.args["_request_id"] == "req-fast-1"
    assert (job.queue_name, job.task_name, job.status) == (
        "webhooks",
        "webhooks.process_event",
        "todo",
    )


def test_concurrent_deliveries_are_stored_once_each(server: str, make_config: MakeConfig) -> None:
    config = make_config("stripe")
    assert deliver(server, config, sample_payload("stripe", marker="warm")).status_code == 202

    answers = in_threads(
        30, lambda i: deliver(server, config, sample_payload("stripe", marker=f"c{i}"))
    )
    copies = in_threads(20, lambda i: deliver(server, config, sample_payload("stripe", marker="x")))

    assert [a.status_code for a in answers] == [202] * 30
    assert len({a.json()["event_id"] for a in answers}) == 30
    assert sorted(c.status_code for c in copies) == [200] * 19 + [202]
    assert len({c.json()["event_id"] for c in copies}) == 1
    events = {str(pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)}
    assert len(events) == 32
    jobs = ProcrastinateJob.objects.filter(task_name="webhooks.process_event")
    assert sorted(j.args["event_id"] for j in jobs if j.args["event_id"] in events) == sorted(
        events
    )


def test_refusals_are_the_views_even_with_a_warm_cache(
    server: str, make_config: MakeConfig
) -> None:
    config = make_config("stripe")
    assert deliver(server, config, sample_payload("stripe", marker="warm")).status_code == 202

    forged = deliver(server, config, sample_payload("stripe", marker="f"), secret="whsec_wrong")
    not_json = httpx.post(
        f"{server}/api/webhooks/{config.endpoint_slug}/",
        content=b"{nope",
        headers=stripe_header(config.secret or "", b"{nope"),
    )
    WebhookConfig.objects.filter(pk=config.pk).update(secret="whsec_rotated")
    old_secret = deliver(server, config, sample_payload("stripe", marker="old"))
    new_secret = deliver(
        server, config, sample_payload("stripe", marker="new"), secret="whsec_rotated"
    )
    WebhookConfig.objects.filter(pk=config.pk).update(is_active=False)
    inactive = deliver(
        server, config, sample_payload("stripe", marker="off"), secret="whsec_rotated"
    )

    assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    assert not_json.status_code == 400 and "body" in not_json.json()
    assert (old_secret.status_code, new_secret.status_code, inactive.status_code) == (
        401,
        202,
        410,
    )
    refused = WebhookEvent.objects.filter(accepted=False)
    assert refused.count() == 2 and not refused.exclude(provider_event_id=None).exists()


def test_a_body_over_the_limit_is_refused_while_it_arrives(
    server: str, make_config: MakeConfig
) -> None:
    config = make_config("stripe")
    assert deliver(server, config, sample_payload("stripe", marker="warm")).status_code == 202

    def endless() -> Iterator[bytes]:
        for _ in range(2048):
            yield b" " * 1024

    answer = httpx.post(
        f"{server}/api/webhooks/{config.endpoint_slug}/",
        content=endless(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert answer.status_code == 413
    assert WebhookEvent.objects.count() == 1
