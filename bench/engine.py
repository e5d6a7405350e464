"""Engine benchmark (issues 3 and 11). Bounded: about two minutes on 2 cores.

    DATABASE_URL=postgres://127.0.0.1/stitch DEBUG=true .venv/bin/python bench/engine.py

Each figure is the median of `--passes` (default 3) with the range, and a ratio to the
ceiling measured in the same run (bench/ceiling.py `callback`: pgbench locking one run
of a 1,000-way fan-out, completing an instance, counting down Collector and run; 8
clients, transactions/s), because these machines are noisy:

1. end to end: a 1,000-way fan-out whose Worker is a synchronous echo HTTP worker (its
   own process, asyncio, keep-alive), run by a task worker in this process
   (`WORKER_CONCURRENCY` jobs at once): callbacks/s from run start to completed run;
2. the cost of one callback (through the DRF view, in-process, one at a time) at
   10-way and at 1,000-way fan-out, the two alternating, and their ratio per pass (flat:
   at most 1.2);
3. asynchronous callbacks through the callback endpoint: a uvicorn process serving
   stitch.asgi, and wrk (C, a Lua script; `apt-get install wrk`) posting the callbacks
   of twenty running 1,000-way fan-outs in random order from 32 connections: callbacks/s
   (`--web-workers N`: N uvicorn processes).
Passes 1 and 3 start after a VACUUM ANALYZE (bench/shared.py `vacuum`). It migrates the
database first and deletes what it created at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Runs whose callbacks wrk posts at the endpoint: more callbacks than it sends in a pass
# (~1,200/s for 8 s on a quiet machine), so none is a repeat.
ENDPOINT_RUNS = 20
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")

from bench.shared import vacuum  # noqa: E402


# --- the echo worker (its own process: `bench/engine.py --echo PORT`) -----------------------
async def _echo_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = json.loads(await reader.readexactly(length))
            data = json.dumps({"status": "completed", "output": body["input"]}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def echo_serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_echo_connection, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def process(command: list[str], port: int, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        wait_for_port(port)
        yield child
    finally:
        child.terminate()
        child.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its direct children (uvicorn workers)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for each in [pid, *map(int, children)]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# --- figures ---------------------------------------------------------------------------------
def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def shown(r: dict[str, float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(r['median'])} ({fmt.format(r['low'])}-{fmt.format(r['high'])})"


# --- the benchmark (Django set up only here: the echo process never loads it) ---------------
WRK_SCRIPT = """
local lines = {}
local at = 0
local counts = {}
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    if n % tonumber(args[2]) == id then table.insert(lines, line) end
    n = n + 1
  end
  statuses = {}
end

function request()
  at = at + 1
  if at > #lines then at = 1 end
  local path, body = lines[at]:match("^(%S+) (.*)$")
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and not shown then
    shown = true
    io.write("FIRST " .. status .. " " .. body:sub(1, 300) .. "\\n")
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do table.insert(parts, status .. "=" .. count) end
  io.write("STATUSES " .. table.concat(parts, ",") .. "\\n")
  io.write(string.format("P99MS %.1f\\n", latency:percentile(99) / 1000))
end
"""


def node(node_id: str, kind: str = "Worker", **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}


class Bench:
    def __init__(self, *, passes: int, seconds: int):
        import django

        self.autovacuum = "unknown"
        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.DEBUG = False  # no query log growth
        settings.ALLOWED_HOSTS = ["*"]
        call_command("migrate", verbosity=0)
        from stitch.models import User

        self.passes, self.seconds = passes, seconds
        self.owner, _ = User.objects.get_or_create(username="bench-engine")

    def fan_out_flow(self, url: str) -> Any:
        from flows import services

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
        return services.flow_create(owner=self.owner, name="bench fan-out", graph=graph)

    @staticmethod
    def clear_jobs() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs")

    # 1. end to end -----------------------------------------------------------------------
    def end_to_end(self, url: str, width: int) -> tuple[float, float]:
        """Callbacks/s from run start to completed run, and this process's CPU (the
        task worker's: start, dispatch, apply) per callback in ms."""
        from flows import engine
        from flows.models import Run
        from tests.jobrunner import run_pending_jobs

        flow = self.fan_out_flow(url)
        self.clear_jobs()
        self.autovacuum = vacuum()  # every pass from the same tables (bench/shared.py)
        started, cpu = time.perf_counter(), time.process_time()
        run = engine.run_start(flow=flow, input={"items": list(range(width))})
        from django.conf import settings

        concurrency = settings.PROCRASTINATE_WORKER_DEFAULTS["concurrency"]
        run_pending_jobs(concurrency=int(str(concurrency)))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        status = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        assert status == "completed", status
        return width / wall, cpu * 1000 / width

    # 2. the cost of one callback -----------------------------------------------------------
    def callback_costs(self, samples: int = 180) -> tuple[float, float]:
        """Median seconds of one sibling callback at 10-way and at 1,000-way fan-out
        (never the last of a run, which fires the Collector). The two kinds alternate,
        so both see the same moments of a noisy machine; the 10-way ones spread over
        enough runs of 10."""
        from django.test import Client

        from flows import engine
        from flows.engine.tokens import callback_url

        flow = self.fan_out_flow("http://127.0.0.1:9/unused")
        large = engine.run_start(flow=flow, input={"items": list(range(1000))}).pk
        smalls = [
            engine.run_start(flow=flow, input={"items": list(range(10))}).pk
            for _ in range(samples // 9 + 1)
        ]
        self.clear_jobs()  # nothing is dispatched: the callbacks are posted directly
        client = Client()

        def post(run_id: Any, i: int) -> float:
            url = urlsplit(callback_url(run_id, f"w_{i}", 1))
            body = json.dumps({"status": "completed", "output": i})
            t0 = time.perf_counter()
            response = client.post(f"{url.path}?{url.query}", body, content_type="application/json")
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, response.content
            return elapsed

        small_times, large_times = [], []
        for n in range(samples):
            small_times.append(post(smalls[n // 9], n % 9))
            large_times.append(post(large, n * 5))  # siblings 0, 5, ... 895: all running
        return statistics.median(small_times), statistics.median(large_times)

    # 3. the callback endpoint under wrk ------------------------------------------------------
    def endpoint(
        self, port: int, pid: int, runs: int, width: int
    ) -> tuple[float, str, float, float]:
        from flows import engine
        from flows.engine.tokens import callback_url
        from flows.models import RunNode

        flow = self.fan_out_flow("http://127.0.0.1:9/unused")
        vacuum()
        run_ids = [
            engine.run_start(flow=flow, input={"items": list(range(width))}).pk for _ in range(runs)
        ]
        self.clear_jobs()
        lines = []
        for run_id in run_ids:
            for i in range(width):
                url = urlsplit(callback_url(run_id, f"w_{i}", 1))
                body = json.dumps({"status": "completed", "output": {"i": i}})
                lines.append(f"{url.path}?{url.query} {body}")
        random.Random(7).shuffle(lines)
        threads, connections = 2, 32
        with tempfile.TemporaryDirectory() as tmp:
            paths, script = Path(tmp, "callbacks.txt"), Path(tmp, "callbacks.lua")
            paths.write_text("\n".join(lines) + "\n")
            script.write_text(WRK_SCRIPT)
            command = [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{self.seconds}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
                "--",
                str(paths),
                str(threads),
            ]
            cpu_before = cpu_seconds(pid)
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            cpu = cpu_seconds(pid) - cpu_before
        out = done.stdout
        if "STATUSES " not in out:
            raise RuntimeError(f"wrk said:\n{out}\n{done.stderr}")
        rate = float(out.split("Requests/sec:")[1].split()[0])
        statuses = out.split("STATUSES ")[1].split()[0]
        p99 = float(out.split("P99MS ")[1].split()[0])
        applied = RunNode.objects.filter(
            run_id__in=run_ids, template_id="w", index__isnull=False, status="completed"
        ).count()
        assert applied > 0 and "200=" in statuses, out
        # Every answer is a first callback of its node while wrk has not gone round (a
        # repeat would be answered too, and counted in the rate): more lines than it sends.
        sent = int(out.split("requests in")[0].split()[-1])
        if sent > len(lines):
            raise RuntimeError(f"wrk sent {sent} callbacks, only {len(lines)} differ: more runs")
        return rate, statuses, p99, cpu * 1000 / applied

    # ------------------------------------------------------------------------------------------
    def run(self, *, web_workers: int) -> None:
        from bench.ceiling import describe, measure

        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()
        echo_port, web_port = free_port(), free_port()
        echo = [sys.executable, str(Path(__file__).resolve()), "--echo", str(echo_port)]
        from tests.entities.live_servers import uvicorn_command  # the tests' server command

        web = [
            *uvicorn_command(web_port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--workers",
            str(web_workers),
        ]
        env = {"RUN_JOBS_IN_WEB": "false", "LOG_LEVEL": "WARNING"}
        try:
            with process(echo, echo_port), process(web, web_port, **env) as server:
                url = f"http://127.0.0.1:{echo_port}/echo"
                e2e_runs = [self.end_to_end(url, 1000) for _ in range(self.passes)]
                e2e = spread([r for r, _ in e2e_runs])
                e2e_cpu = spread([c for _, c in e2e_runs])
                costs = [self.callback_costs() for _ in range(self.passes)]
                small = spread([c[0] * 1000 for c in costs])
                large = spread([c[1] * 1000 for c in costs])
                ratios = spread([c[1] / c[0] for c in costs])  # per pass, then the median
                endpoint = [
                    self.endpoint(web_port, server.pid, ENDPOINT_RUNS, 1000)
                    for _ in range(self.passes)
                ]
        finally:
            self.cleanup()
        ceiling = measure(["callback"], seconds=5, passes=self.passes)
        top = ceiling["callback"]["median"]
        rates = spread([e[0] for e in endpoint])
        cpu = spread([e[3] for e in endpoint])
        print(
            f"bench/engine.py, {stamp}, load average {load[0]:.1f}, median of {self.passes}, "
            f"autovacuum {self.autovacuum} (each pass after VACUUM ANALYZE)"
        )
        print(f"ceiling (pgbench callback shape, 8 clients): {describe(ceiling)}")
        print(
            f"1. 1,000-way fan-out, synchronous echo HTTP worker, end to end: "
            f"{shown(e2e)} callbacks/s; ratio to ceiling {e2e['median'] / top:.3f}; "
            f"task worker CPU {shown(e2e_cpu, '{:.2f}')} ms per callback"
        )
        print(
            f"2. one callback, 10-way: {shown(small, '{:.2f}')} ms; 1,000-way: "
            f"{shown(large, '{:.2f}')} ms; ratio 1,000/10 {shown(ratios, '{:.2f}')}"
        )
        print(
            f"3. callback endpoint (uvicorn x{web_workers}, wrk 32 connections, "
            f"{ENDPOINT_RUNS} runs x 1,000): "
            f"{shown(rates)} callbacks/s; ratio to ceiling {rates['median'] / top:.3f}; "
            f"p99 {statistics.median(e[2] for e in endpoint):.0f} ms; "
            f"web process CPU {shown(cpu, '{:.2f}')} ms per callback; answers {endpoint[-1][1]}"
        )

    def cleanup(self) -> None:
        from flows.models import Run, RunNode

        RunNode.objects.filter(run__flow__owner=self.owner).delete()
        Run.objects.filter(flow__owner=self.owner).delete()  # runs PROTECT their version
        self.owner.delete()
        self.clear_jobs()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--echo", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per pass")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn processes")
    args = parser.parse_args()
    if args.echo:
        echo_serve(args.echo)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the callback endpoint figure: apt-get install wrk")
    Bench(passes=max(1, args.passes), seconds=max(2, min(args.seconds, 30))).run(
        web_workers=max(1, args.web_workers)
    )


if __name__ == "__main__":
    main()
