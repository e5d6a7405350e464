"""Latency from a committed entity move to its websocket message.

    DATABASE_URL=postgres://... .venv/bin/python bench/realtime.py [--seconds 10]

For each channel layer (in-process, then Redis when reachable) it serves the ASGI app
with uvicorn, connects `--subscribers` websockets (100) to one canvas from a separate
client process, and moves entities at `--rate` moves/s (100) for `--seconds`. Each
move's commit instant is taken by an on_commit callback registered before the move's
own (callbacks run in order), so latency = arrival at the client - commit.
- in-process layer: the server runs in a thread of this process and the moves commit in
  the main thread (exactly the cross-thread path a request or an in-process job takes);
- Redis layer: the server is a separate uvicorn process and the moves commit here, as
  a background worker's would.
Bounded: subscribers x rate x seconds messages; a client gives up after 15 s of silence.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stitch_ent")
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
CLIENT_PROCESSES = 4
MOVER_THREADS = int(os.environ.get("BENCH_MOVER_THREADS", "2"))
# permessage-deflate compresses every message once per socket (~45 us each here);
# `--deflate` measures with it on, as uvicorn's default.
DEFLATE = os.environ.get("BENCH_WS_DEFLATE", "false") == "true"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- client process: N sockets, (seq, arrival) per message ---------------------------


async def subscribe(url: str, count: int, expected: int, out: str) -> None:
    import websockets

    arrivals: list[list[tuple[str, int, float]]] = [[] for _ in range(count)]
    sockets = [await websockets.connect(url, max_queue=None) for _ in range(count)]
    for ws in sockets:
        json.loads(await ws.recv())  # snapshot
    print("ready", flush=True)

    async def drain(index: int, ws: Any) -> None:
        # Until every move arrived, or 15 s pass without a message (dropped ones).
        while len(arrivals[index]) < expected:
            raw = await asyncio.wait_for(ws.recv(), timeout=15)
            now = time.time()
            message = json.loads(raw)
            arrivals[index].append((message["entity"]["id"], message["seq"], now))

    await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(sockets)), return_exceptions=True)
    Path(out).write_text(json.dumps(arrivals))
    for ws in sockets:
        await ws.close()


# --- mover: this process ----------------------------------------------------------


def setup_canvas() -> tuple[Any, Any, list[Any]]:
    import django

    django.setup()
    from rest_framework.authtoken.models import Token

    from entities.models import Entity
    from flows import services as flow_services
    from stitch.models import User
    from tests.factories import bmc_graph

    user = User.objects.create_user(username=f"bench-{time.time_ns()}", password="x")
    token = Token.objects.create(user=user)
    canvas = flow_services.flow_create(
        owner=user, name="bench", canvas_type="bmc", graph=bmc_graph(), parent=None
    )
    entities = [
        Entity.objects.create(canvas=canvas, name=f"e{i}", entity_type="lead")
        for i in range(3 * MOVER_THREADS)
    ]
    return user, token, entities


def move_at_rate(entities: list[Any], rate: int, seconds: float) -> dict[tuple[str, int], float]:
    """`rate` moves/s from MOVER_THREADS threads (one thread alone waits on each commit
    and broadcast in turn and falls short of 100/s on this machine)."""
    from django.db import connection, transaction

    from entities import services

    commits: dict[tuple[str, int], float] = {}
    nodes = ["leads", "customers", "churned"]
    total, start = int(rate * seconds), time.monotonic()

    failures: list[BaseException] = []

    def mover(first: int) -> None:
        try:
            move_share(first)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def move_share(first: int) -> None:
        for index in range(first, total, MOVER_THREADS):
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
            # Each thread moves its own entities: no two sends of one entity race, so
            # no message is dropped as stale (see CanvasConsumer.stitch_message).
            mine = entities[first::MOVER_THREADS]
            entity = mine[(index // MOVER_THREADS) % len(mine)]
            stamp: list[float] = []
            with transaction.atomic():
                transaction.on_commit(lambda stamp=stamp: stamp.append(time.time()))
                moved = services.entity_manual_move(entity_id=entity.pk, node_id=nodes[index % 3])
            commits[str(entity.pk), moved.entity.sequence] = stamp[0]

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(MOVER_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} mover threads failed: {failures[0]!r}")
    return commits


def start_threaded_server(port: int) -> Any:
    import uvicorn

    from stitch.asgi import application

    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",  # no in-process job worker (and its connection pool) needed
        ws_per_message_deflate=DEFLATE,
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def run_layer(layer: str, subscribers: int, rate: int, seconds: float) -> dict[str, Any]:
    user, token, entities = setup_canvas()
    port, server_proc = free_port(), None
    if layer == "memory":
        server = start_threaded_server(port)
    else:
        env = {**os.environ, "CONN_MAX_AGE": "0"}
        server_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "stitch.asgi:application",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--ws-per-message-deflate",
                str(DEFLATE).lower(),
            ],
            cwd=ROOT,
            env=env,
        )
        wait_port(port)
    url = f"ws://127.0.0.1:{port}/ws/flows/{entities[0].canvas_id}/?token={token.key}"
    total = int(rate * seconds)
    # Several client processes: one Python process parsing 10,000 messages/s would be
    # the bottleneck being measured.
    outs, clients = [], []
    for index in range(CLIENT_PROCESSES):
        share = subscribers // CLIENT_PROCESSES + (index < subscribers % CLIENT_PROCESSES)
        outs.append(f"/tmp/bench-realtime-{layer}-{os.getpid()}-{index}.json")
        command = [sys.executable, __file__, "--subscribe", url, str(share), str(total)]
        clients.append(subprocess.Popen([*command, outs[-1]], stdout=subprocess.PIPE, text=True))
    try:
        for client in clients:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "ready"
        began = time.monotonic()
        commits = move_at_rate(entities, rate, seconds)
        moving = time.monotonic() - began
        arrivals = []
        for client, out in zip(clients, outs, strict=True):
            client.wait(timeout=60)
            arrivals += json.loads(Path(out).read_text())
    finally:
        if server_proc is not None:
            server_proc.terminate()
            server_proc.wait(timeout=10)
        else:
            server.should_exit = True
        user.delete()
    latencies = [
        (arrived - commits[entity_id, seq]) * 1000
        for per_socket in arrivals
        for entity_id, seq, arrived in per_socket
        if (entity_id, seq) in commits
    ]
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "layer": layer,
        "subscribers": subscribers,
        "deflate": DEFLATE,
        "moves": total,
        "achieved_moves_per_s": round(total / moving, 1),
        "delivered": f"{len(latencies)}/{total * subscribers}",
        "p50_ms": round(quantiles[49], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(max(latencies), 1),
    }


def redis_reachable(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1).close()
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--layer", choices=["memory", "redis", "both"], default="both")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on")
    parser.add_argument("--run-layer", help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscribe:
        url, count, expected, out = args.subscribe
        asyncio.run(subscribe(url, int(count), int(expected), out))
        return
    if args.run_layer:
        result = run_layer(args.run_layer, args.subscribers, args.rate, args.seconds)
        print(json.dumps(result), flush=True)
        return
    layers = ["memory", "redis"] if args.layer == "both" else [args.layer]
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    for layer in layers:
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env["BENCH_WS_DEFLATE"] = "true" if args.deflate else "false"
        if layer == "redis":
            if not redis_reachable(redis_url):
                print(json.dumps({"layer": "redis", "skipped": f"no Redis at {redis_url}"}))
                continue
            env["REDIS_URL"] = redis_url
        command = [sys.executable, __file__, "--run-layer", layer]
        command += ["--subscribers", str(args.subscribers), "--rate", str(args.rate)]
        command += ["--seconds", str(args.seconds)]
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
