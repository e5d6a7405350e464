"""Engine benchmark (issue 3). Bounded: about a minute on 2 cores.

    DATABASE_URL=postgres://127.0.0.1/stitch DEBUG=true .venv/bin/python bench/engine.py

Prints:
1. a 1,000-way fan-out driven end to end by the task worker and a local HTTP echo
   worker on 127.0.0.1 (synchronous replies): wall time and callbacks/s;
2. the cost of one callback (callback endpoint, in-process client) at 10-way vs
   1,000-way fan-out, and the ratio;
3. callbacks/s for many small concurrent runs (200 two-node runs, 8 threads).
It migrates the database first and deletes what it created at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402

from flows import engine, services  # noqa: E402
from flows.engine.tokens import callback_url  # noqa: E402
from flows.models import Flow, Run, RunNode  # noqa: E402
from stitch.models import User  # noqa: E402
from tests.jobrunner import run_pending_jobs  # noqa: E402

settings.DEBUG = False  # no query log growth
settings.ALLOWED_HOSTS = ["*"]


class EchoHandler(BaseHTTPRequestHandler):
    """A synchronous worker: answers every dispatch with output = input."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = json.dumps({"status": "completed", "output": body["input"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def node(node_id: str, kind: str = "Worker", **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}


def fan_out_flow(owner: User, url: str) -> Flow:
    graph = {
        "nodes": [
            node("s", "Splitter", arrayPath="items"),
            node("w", webhookUrl=url, callbackTimeoutSeconds=3600),
            node("c", "Collector"),
        ],
        "edges": [
            {"id": "s-w", "source": "s", "target": "w"},
            {"id": "w-c", "source": "w", "target": "c"},
        ],
    }
    return services.flow_create(owner=owner, name="bench fan-out", graph=graph)


def clear_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def end_to_end(owner: User, url: str, width: int) -> None:
    flow = fan_out_flow(owner, url)
    clear_jobs()
    started = time.perf_counter()
    run = engine.run_start(flow=flow, input={"items": list(range(width))})
    split = time.perf_counter() - started
    run_pending_jobs(concurrency=20, horizon=120)
    wall = time.perf_counter() - started
    run.refresh_from_db()
    assert run.status == "completed", run.status
    print(f"1. {width}-way fan-out, local HTTP echo worker, in-process task worker:")
    print(f"   start + split + {width} jobs deferred: {split * 1000:.0f} ms")
    print(f"   wall time to completed run: {wall:.2f} s; {width / wall:.0f} callbacks/s")


def post_callback(client: Client, run_id: Any, node_id: str, output: Any) -> float:
    url = urlsplit(callback_url(run_id, node_id, 1))  # the first attempt
    body = json.dumps({"status": "completed", "output": output})
    t0 = time.perf_counter()
    response = client.post(f"{url.path}?{url.query}", body, content_type="application/json")
    elapsed = time.perf_counter() - t0
    assert response.status_code == 200, response.content
    return elapsed


def callback_cost(owner: User, width: int, samples: int) -> float:
    """Median seconds of one sibling callback (not the last, which fires the Collector)."""
    flow = fan_out_flow(owner, "http://127.0.0.1:9/unused")
    run = engine.run_start(flow=flow, input={"items": list(range(width))})
    clear_jobs()  # nothing is dispatched: the callbacks are posted directly
    client = Client()
    step = max(1, (width - 1) // samples)
    times = [post_callback(client, run.pk, f"w_{i}", i) for i in range(0, width - 1, step)]
    for i in range(width - 1):
        if i % step:
            post_callback(client, run.pk, f"w_{i}", i)
    post_callback(client, run.pk, f"w_{width - 1}", width - 1)
    assert Run.objects.get(pk=run.pk).status == "completed"
    return statistics.median(times)


def small_runs(owner: User, runs: int, threads: int) -> None:
    graph = {
        "nodes": [
            node("a", webhookUrl="http://127.0.0.1:9/x"),
            node("b", webhookUrl="http://127.0.0.1:9/y"),
        ],
        "edges": [{"id": "a-b", "source": "a", "target": "b"}],
    }
    flow = services.flow_create(owner=owner, name="bench small", graph=graph)
    run_ids = [engine.run_start(flow=flow).pk for _ in range(runs)]
    clear_jobs()

    def drive(ids: list[Any]) -> None:
        client = Client()
        try:
            for node_id in ("a", "b"):
                for run_id in ids:
                    post_callback(client, run_id, node_id, {"n": node_id})
        finally:
            connections.close_all()

    chunks = [run_ids[i::threads] for i in range(threads)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(drive, chunks))
    wall = time.perf_counter() - t0
    done = Run.objects.filter(pk__in=run_ids, status="completed").count()
    assert done == runs, done
    print(f"3. {runs} concurrent two-node runs, {threads} threads posting callbacks:")
    print(f"   {2 * runs / wall:.0f} callbacks/s ({runs / wall:.0f} runs completed/s)")


def main() -> None:
    call_command("migrate", verbosity=0)
    owner, _ = User.objects.get_or_create(username="bench-engine")
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/echo"
    try:
        end_to_end(owner, url, 1000)
        small = callback_cost(owner, 10, 9)
        large = callback_cost(owner, 1000, 200)
        print("2. one callback (callback endpoint, sibling instances still running):")
        print(
            f"   10-way: {small * 1000:.2f} ms; 1,000-way: {large * 1000:.2f} ms; "
            f"ratio {large / small:.2f}"
        )
        small_runs(owner, 200, 8)
    finally:
        server.shutdown()
        RunNode.objects.filter(run__flow__owner=owner).delete()
        Run.objects.filter(flow__owner=owner).delete()  # runs PROTECT their flow version
        owner.delete()
        clear_jobs()


if __name__ == "__main__":
    main()
