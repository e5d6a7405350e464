"""Inbound webhook benchmark (issue 11). Bounded: about eight minutes on two cores.

    DATABASE_URL=postgres://postgres@127.0.0.1/stitch_hooks DEBUG=true \\
        .venv/bin/python bench/webhooks.py [--seconds 5] [--connections 50]

Load comes from wrk (`apt-get install wrk`): a Lua script sends pre-signed Stripe
deliveries (~1 KB JSON), every one a new event about a new person, over `--connections`
connections to a real uvicorn process (stitch.asgi, DEBUG off, jobs not run in the web
process) on 127.0.0.1. In the same run, bench/ceiling.py measures what PostgreSQL does
for the same SQL (pgbench `ingest`: insert an event + defer its job; `pipeline`: claim +
entity + journey event + run + event completed), and every figure is printed as a ratio
to its ceiling, median of 3 passes (range), dated:

1. accepted deliveries (new events stored, each with its job) per second, no worker;
2. processed end to end with one `manage.py procrastinate worker` process running while
   the load arrives: events completed (entity on the entry edge, run started with its
   dispatch job deferred) per second, from the first receipt to the last completion.

The worker listens on the `webhooks` queue only: the runs' dispatch jobs (engine queue)
are deferred but not executed, and removed before the next pass, which starts after a
VACUUM ANALYZE (`fresh_tables`). It migrates the database first and deletes what it
created at the end.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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

from bench.ceiling import measure  # noqa: E402
from bench.shared import vacuum  # noqa: E402
from entities.models import Entity, JourneyEvent  # noqa: E402
from flows import services as flow_services  # noqa: E402
from flows.models import Flow, Run, RunNode  # noqa: E402
from stitch.models import User  # noqa: E402
from tests.entities.live_servers import free_port, uvicorn_command  # noqa: E402
from webhooks.models import WebhookConfig, WebhookEvent  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
WRK = "/usr/bin/wrk"
# wrk's Lua: each thread takes every n-th pre-signed delivery of the file, in turn.
WRK_SCRIPT = r"""
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  local count = tonumber(args[2])
  sigs, bodies, pos = {}, {}, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % count == tid then
      local tab = line:find("\t", 1, true)
      sigs[#sigs + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    i = i + 1
  end
end
function request()
  pos = pos % #bodies + 1
  local headers = {["Content-Type"] = "application/json", ["Stripe-Signature"] = sigs[pos]}
  return wrk.format("POST", nil, headers, bodies[pos])
end
"""
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
    owner = "bench-webhooks"
    flows = Flow.objects.filter(owner__username=owner)
    # Leaves first, one DELETE each (no row refers to theirs, no signal listens): the
    # ORM's cascade from the flows loads every row it deletes, minutes for 200,000 events.
    JourneyEvent.objects.filter(canvas__owner__username=owner).delete()
    WebhookEvent.objects.filter(webhook_config__canvas__owner__username=owner).delete()
    RunNode.objects.filter(run__flow__owner__username=owner).delete()
    Run.objects.filter(flow__in=flows).only("pk").delete()  # runs protect their versions
    Entity.objects.filter(canvas__owner__username=owner).only("pk").delete()
    flows.delete()  # configs, versions
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name IN ('webhooks', 'engine')")


def fresh_tables() -> None:
    """Every pass from the same tables: the dispatch jobs earlier passes deferred are
    removed (no engine worker runs here; 200,000 of them waiting made a webhooks-only
    worker's claim, planned with statistics from a quiet moment, read the whole job
    table per queued job: over 60 s a claim), then VACUUM ANALYZE (bench/shared.py)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'engine'")
    vacuum()


def deliveries(count: int, tag: str) -> list[tuple[str, bytes]]:
    """Pre-signed Stripe deliveries of about 1 KB, each a new event about a new person:
    (Stripe-Signature header, body)."""
    out = []
    t = int(time.time())
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
        sig = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        out.append((f"t={t},v1={sig}", body))
    return out


def wrk_load(url: str, items: list[tuple[str, bytes]], *, seconds: int, conns: int) -> float:
    """Run wrk for `seconds`; the wall time it ran. Deliveries are counted in the
    database (a repeat, once the file is used up, stores nothing)."""
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "deliveries.tsv", Path(tmp) / "deliveries.lua"
        data.write_bytes(b"".join(sig.encode() + b"\t" + body + b"\n" for sig, body in items))
        script.write_text(WRK_SCRIPT)
        threads = 2
        command = [
            WRK,
            f"-t{threads}",
            f"-c{conns}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
            "--",
            str(data),
            str(threads),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    if "Non-2xx" in done.stdout:
        print(f"  wrk saw non-2xx answers:\n{done.stdout}")
    return elapsed


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(config: WebhookConfig, tag: str) -> int:
    return WebhookEvent.objects.filter(
        webhook_config=config, provider_event_id__startswith=f"evt_{tag}_"
    ).count()


def drain(config: WebhookConfig, concurrency: int) -> None:
    """Process what earlier passes left (not measured)."""
    pending = WebhookEvent.objects.filter(webhook_config=config, status="pending")
    if pending.exists():
        procs = start_workers(1, concurrency)
        try:
            deadline = time.monotonic() + 300
            while pending.exists() and time.monotonic() < deadline:
                time.sleep(0.25)
        finally:
            stop(procs)


def ratio(figures: list[float], ceiling: float) -> str:
    median = statistics.median(figures)
    return (
        f"{median:.0f}/s ({min(figures):.0f}-{max(figures):.0f}) = "
        f"{100 * median / ceiling:.1f}% of {ceiling:.0f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration of one pass")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=2, help="jobs per worker process")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    if not Path(WRK).exists() and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    seconds = max(1, min(args.seconds, 30))  # bounded, whatever is asked
    # Enough unique deliveries for a pass at 8,000/s.
    per_pass = 8000 * seconds

    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ceiling = measure(["ingest", "pipeline"], seconds=5, passes=args.passes)
    ingest, pipeline = ceiling["ingest"]["median"], ceiling["pipeline"]["median"]
    config = setup()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/webhooks/{config.endpoint_slug}/"
    server = subprocess.Popen(
        [*uvicorn_command(port), "--no-access-log"],
        cwd=ROOT,
        env=child_env(),
    )
    print(
        f"webhook bench {started_at}: wrk, {args.connections} connections, Stripe-signed ~1 KB "
        f"deliveries, uvicorn (1 process) on 127.0.0.1, {os.cpu_count()} CPUs shared with "
        f"PostgreSQL and wrk; load average {os.getloadavg()[0]:.1f}; autovacuum {vacuum()} "
        "(each pass after VACUUM ANALYZE)"
    )
    print(
        f"ceiling (pgbench, same run): ingest {ingest:.0f}/s, pipeline {pipeline:.0f}/s "
        f"(medians of {args.passes})"
    )
    try:
        wait_until_up(port, server)
        wrk_load(url, deliveries(2000, "warm"), seconds=1, conns=args.connections)
        accepted, cpu_ms = [], []
        for n in range(args.passes):
            tag = f"a{n}"
            fresh_tables()
            items = deliveries(per_pass, tag)
            cpu_before = cpu_seconds(server.pid)
            elapsed = wrk_load(url, items, seconds=seconds, conns=args.connections)
            count = stored(config, tag)
            accepted.append(count / elapsed)
            cpu_ms.append(1000 * (cpu_seconds(server.pid) - cpu_before) / max(count, 1))
        print(f"accepted (202, no worker): {ratio(accepted, ingest)} (ingest ceiling)")
        print(f"  web process CPU per accepted delivery: {statistics.median(cpu_ms):.2f} ms")
        drain(config, args.concurrency)

        processed, while_processing, worker_ms = [], [], []
        for n in range(args.passes):
            tag = f"e{n}"
            fresh_tables()
            procs = start_workers(1, args.concurrency)
            time.sleep(2)  # let it connect and LISTEN
            try:
                worker_before = cpu_seconds(procs[0].pid)
                elapsed = wrk_load(
                    url, deliveries(per_pass, tag), seconds=seconds, conns=args.connections
                )
                while_processing.append(stored(config, tag) / elapsed)
                wait_processed(config, f"evt_{tag}_", stored(config, tag), timeout=300)
                worker_cpu = cpu_seconds(procs[0].pid) - worker_before
                worker_ms.append(1000 * worker_cpu / max(stored(config, tag), 1))
            finally:
                stop(procs)
            result = end_to_end(config, tag)
            if result["failed"]:
                print(f"  pass {n}: {result['failed']} events failed")
            processed.append(result["rate"])
        print(
            f"processed end to end (1 web + 1 worker process): {ratio(processed, pipeline)} "
            "(pipeline ceiling)"
        )
        print(f"  worker process CPU per processed event: {statistics.median(worker_ms):.2f} ms")
        print(f"accepted while processing: {ratio(while_processing, ingest)} (ingest ceiling)")
    finally:
        stop([server])
        cleanup()


if __name__ == "__main__":
    main()
