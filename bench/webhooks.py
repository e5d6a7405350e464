"""Inbound webhook benchmark (issue 5). Bounded: a few thousand requests, ~2 minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1/stitch_hooks DEBUG=true \\
        .venv/bin/python bench/webhooks.py [--count 2000] [--connections 32]

A real uvicorn server (stitch.asgi, DEBUG off, jobs not run in the web process) on
127.0.0.1 receives Stripe-signed deliveries (1 KB JSON, every one a new event and a new
person) from an httpx async client holding `--connections` connections. Prints:

1. intake alone: accepted deliveries (202) per second and latency, no worker running;
2. end to end with 1 and then 2 `manage.py procrastinate worker` processes running
   while the load arrives: 202s per second, and processed events per second (event
   stored -> entity created on the entry edge -> run started, the event completed),
   measured from the first receipt to the last event completed.

The workers listen on the `webhooks` queue only: the runs' own dispatch jobs (engine
queue) are deferred but not executed, so the figure is the intake pipeline's.
It migrates the database first and deletes what it created at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from flows import services as flow_services  # noqa: E402
from flows.models import Flow, Run  # noqa: E402
from stitch.models import User  # noqa: E402
from tests.entities.live_servers import free_port, uvicorn_command  # noqa: E402
from webhooks.models import WebhookConfig, WebhookEvent  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
SECRET = "whsec_bench_secret"
CANVAS_GRAPH = {
    "nodes": [
        {"id": "leads", "type": "section", "position": {"x": 0, "y": 0}, "data": {}},
        {"id": "customers", "type": "section", "position": {"x": 300, "y": 0}, "data": {}},
    ],
    "edges": [{"id": "signup", "source": "leads", "target": "customers"}],
}
WORKFLOW_GRAPH = {
    "nodes": [
        {
            "id": "welcome",
            "type": "Worker",
            "position": {"x": 0, "y": 0},
            "data": {"label": "Welcome", "workerType": "echo"},
        }
    ],
    "edges": [],
}
MAPPING = {
    "name": "$.data.object.customer_details.name",
    "email": "$.data.object.customer_details.email",
    "entity_type": "customer",
    "metadata": {"plan": "$.data.object.mode", "amount": "$.data.object.amount_total"},
}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DEBUG="false", SECRET_KEY="bench-only", RUN_JOBS_IN_WEB="false")
    env.update(WORKER_SECRETS="bench-only-worker-secret-" + "b" * 32)
    env.update(LOG_LEVEL="WARNING")
    return env


def setup() -> WebhookConfig:
    call_command("migrate", verbosity=0)
    owner, _ = User.objects.get_or_create(username="bench-webhooks")
    canvas = flow_services.flow_create(
        owner=owner, name="bench canvas", graph=CANVAS_GRAPH, canvas_type="bmc"
    )
    workflow = flow_services.flow_create(owner=owner, name="bench flow", graph=WORKFLOW_GRAPH)
    return WebhookConfig.objects.create(
        canvas=canvas,
        workflow=workflow,
        name="bench",
        source="stripe",
        endpoint_slug=f"bench-{int(time.time())}",
        secret=SECRET,
        entry_edge_id="signup",
        entity_mapping=MAPPING,
    )


def cleanup() -> None:
    flows = Flow.objects.filter(owner__username="bench-webhooks")
    Run.objects.filter(flow__in=flows).delete()  # runs protect their flow versions
    flows.delete()  # cascades to configs, events, entities
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name IN ('webhooks', 'engine')")


def deliveries(count: int, tag: str) -> list[tuple[bytes, dict[str, str]]]:
    """Pre-signed Stripe deliveries of about 1 KB, each a new event about a new person."""
    out = []
    for i in range(count):
        payload = {
            "id": f"evt_{tag}_{i}",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": f"cs_{tag}_{i}",
                    "amount_total": 4900,
                    "currency": "usd",
                    "mode": "subscription",
                    "customer_details": {
                        "name": f"Customer {i}",
                        "email": f"c{i}-{tag}@example.com",
                        "address": {"country": "US", "line1": "1 Main St", "city": "Town"},
                    },
                    "metadata": {"note": "x" * 600},
                }
            },
        }
        body = json.dumps(payload).encode()
        t = int(time.time())
        sig = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={sig}"}
        out.append((body, headers))
    return out


async def load(url: str, items: list[tuple[bytes, dict[str, str]]], conns: int) -> dict:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def sender() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(conns)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "elapsed": elapsed,
        "codes": codes,
        "rate": codes.get(202, 0) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def wait_until_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("uvicorn exited during start-up")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("uvicorn did not start")


def start_workers(count: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "manage.py",
        "procrastinate",
        "worker",
        "--queues",
        "webhooks",
        "--concurrency",
        str(concurrency),
        "--delete-jobs",
        "successful",
    ]
    return [subprocess.Popen(command, cwd=ROOT, env=child_env()) for _ in range(count)]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_processed(config: WebhookConfig, tag: str, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    events = WebhookEvent.objects.filter(webhook_config=config, provider_event_id__startswith=tag)
    done = 0
    while time.monotonic() < deadline:
        done = events.filter(status__in=["completed", "failed"]).count()
        if done >= count:
            break
        time.sleep(0.25)
    return done


def end_to_end(config: WebhookConfig, tag: str) -> dict[str, Any]:
    events = WebhookEvent.objects.filter(
        webhook_config=config, provider_event_id__startswith=f"evt_{tag}_"
    )
    span = events.aggregate(first=Min("received_at"), last=Max("processed_at"))
    completed = events.filter(status="completed").count()
    failed = events.filter(status="failed").count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["last"] else float("nan")
    return {
        "completed": completed,
        "failed": failed,
        "seconds": seconds,
        "rate": completed / seconds if seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker process")
    args = parser.parse_args()
    count = min(args.count, 10_000)  # bounded, whatever is asked

    config = setup()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/webhooks/{config.endpoint_slug}/"
    server = subprocess.Popen(
        [*uvicorn_command(port), "--no-access-log"],
        cwd=ROOT,
        env=child_env(),
    )
    print(
        f"webhook bench: {count} Stripe-signed ~1 KB deliveries, "
        f"{args.connections} connections, uvicorn (1 process) on 127.0.0.1, "
        f"{os.cpu_count()} CPUs shared with PostgreSQL"
    )
    try:
        wait_until_up(port, server)
        asyncio.run(load(url, deliveries(200, "warm"), args.connections))  # warm-up

        intake = asyncio.run(load(url, deliveries(count, "a"), args.connections))
        print(
            f"intake only (no worker): {intake['rate']:.0f} accepted/s "
            f"(codes {intake['codes']}, p50 {intake['p50_ms']:.0f} ms, "
            f"p99 {intake['p99_ms']:.0f} ms)"
        )
        # Drain the backlog (not measured) so each end-to-end run starts from empty.
        drain = start_workers(2, args.concurrency)
        wait_processed(config, "evt_", count + 200, timeout=300)
        stop(drain)

        for workers in (1, 2):
            tag = f"w{workers}"
            procs = start_workers(workers, args.concurrency)
            time.sleep(2)  # let them connect and LISTEN
            try:
                accepted = asyncio.run(load(url, deliveries(count, tag), args.connections))
                wait_processed(config, f"evt_{tag}_", count, timeout=300)
            finally:
                stop(procs)
            result = end_to_end(config, tag)
            print(
                f"end to end, {workers} worker process(es) x {args.concurrency} jobs: "
                f"{accepted['rate']:.0f} accepted/s while processing "
                f"(p99 {accepted['p99_ms']:.0f} ms); "
                f"{result['rate']:.0f} processed events/s "
                f"({result['completed']} completed, {result['failed']} failed "
                f"in {result['seconds']:.1f} s from first receipt to last run started)"
            )
        print(
            "reference: n8n publishes 220 webhook executions/s (2 vCPU); n8n 2.8.4 "
            "measured 58-67/s on this kind of machine (limits.md)"
        )
    finally:
        stop([server])
        cleanup()


if __name__ == "__main__":
    main()
