"""Live updates under load: entity moves reaching 100 websocket subscribers.

    DATABASE_URL=postgres://... DEBUG=true \\
        flock /work/wt/bench.lock .venv/bin/python bench/realtime.py [--seconds 10] [--passes 3]

Each pass, for each channel layer (in-process, then Redis when reachable), serves the
ASGI app with uvicorn (`--ws-per-message-deflate false`), connects `--subscribers`
websockets (100) to one canvas from 4 client processes, and moves entities at `--rate`
moves/s (100) for `--seconds` from 4 threads. Each move's commit instant is taken by an
on_commit callback registered before the move's own (callbacks run in order), so
latency = arrival at the client - commit.
- in-process layer: the server runs in a thread of this process and the moves commit in
  its other threads (the path a request or an in-process job takes);
- Redis layer: the server is a separate uvicorn process and the moves commit here, as
  a background worker's would.

Figures: moves/s achieved, % of (moves x subscribers) delivered, latency p50/p99,
frames/s received by all clients (a batch frame counts once), and frames/s per core =
frames / CPU seconds the server used meanwhile (its thread's, or its process's, from
/proc), and messages/s per core likewise. With Redis, a tap process subscribed to the
canvas's Redis channel notes when each message got there: `to_redis_*` is the publishing
side's share of the latency (commit -> Redis), the rest is the server and the clients.
Ceilings measured in the same run, each figure printed as a ratio to its own:
- moves/s: pgbench's entity-move transactions/s (bench/ceiling.py, 8 clients);
- frames/s per core and latency: a bare ASGI websocket app on the same uvicorn, sending
  every message as its own frame to the same sockets at the same rate (the cost of a
  frame and the latency of a fan-out with nothing of ours in the way).
Medians of `--passes` (3) passes with their range, and the load average before and after
(the machine is shared). It migrates DATABASE_URL's database first and deletes what it
creates. Bounded: a client gives up after 15 s without a frame; a pass
takes about `--seconds` + 10 s per layer.
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
# Threads committing moves: each waits on PostgreSQL for a few ms per move, and on a
# loaded machine two fell short of 100 moves/s.
MOVER_THREADS = int(os.environ.get("BENCH_MOVER_THREADS", "4"))
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_P99_MS = 100
PROFILE = os.environ.get("BENCH_PROFILE")
TO_REDIS = ("to_redis_p50_ms", "to_redis_p99_ms")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(stat_path: str) -> float:
    """utime + stime of a process or thread (/proc/.../stat)."""
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# --- client process: N sockets; per socket the (key, arrival) of each message ---------


async def subscribe(url: str, count: int, expected: int, out: str) -> None:
    import websockets

    arrivals: list[list[tuple[str, int, float]]] = [[] for _ in range(count)]
    frames = [0] * count
    stamps: dict[int, float] = {}  # the bare server's send time of each message
    sockets = [await websockets.connect(url, max_queue=None, max_size=None) for _ in range(count)]
    for ws in sockets:
        json.loads(await ws.recv())  # snapshot
    print("ready", flush=True)

    async def drain(index: int, ws: Any) -> None:
        # Until every move arrived, or 15 s pass without a frame (dropped ones).
        while len(arrivals[index]) < expected:
            raw = await asyncio.wait_for(ws.recv(), timeout=15)
            now = time.time()
            frames[index] += 1
            frame = json.loads(raw)
            for message in frame["messages"] if frame["type"] == "batch" else [frame]:
                if message["type"] == "bare":
                    stamps[message["seq"]] = message["t"]
                    arrivals[index].append(("bare", message["seq"], now))
                else:
                    arrivals[index].append((message["entity"]["id"], message["seq"], now))

    await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(sockets)), return_exceptions=True)
    result = {"arrivals": arrivals, "frames": sum(frames), "stamps": stamps}
    Path(out).write_text(json.dumps(result))
    for ws in sockets:
        await ws.close()


def start_clients(url: str, subscribers: int, total: int, tag: str) -> list[Any]:
    """Several client processes: one Python process parsing 10,000 messages/s would be
    the bottleneck being measured."""
    clients = []
    for index in range(CLIENT_PROCESSES):
        share = subscribers // CLIENT_PROCESSES + (index < subscribers % CLIENT_PROCESSES)
        out = f"/tmp/bench-realtime-{tag}-{os.getpid()}-{index}.json"
        command = [sys.executable, __file__, "--subscribe", url, str(share), str(total), out]
        clients.append((subprocess.Popen(command, stdout=subprocess.PIPE, text=True), out))
    for client, _ in clients:
        assert client.stdout is not None
        if client.stdout.readline().strip() != "ready":
            raise RuntimeError("a client process could not connect")
    return clients


def collect(clients: list[Any]) -> tuple[list[list[tuple[str, int, float]]], int, dict]:
    """Every socket's arrivals, the frames of all, and the bare server's stamps."""
    arrivals: list[list[tuple[str, int, float]]] = []
    frames, stamps = 0, {}
    for client, out in clients:
        client.wait(timeout=60)
        data = json.loads(Path(out).read_text())
        Path(out).unlink()
        arrivals += data["arrivals"]
        frames += data["frames"]
        stamps |= {("bare", int(seq)): t for seq, t in data["stamps"].items()}
    return arrivals, frames, stamps


def figures(
    sent: dict[tuple[str, int], float],
    arrivals: list[list[tuple[str, int, float]]],
    frames: int,
    cpu: float,
    subscribers: int,
) -> dict[str, Any]:
    latencies = [
        (arrived - sent[key, seq]) * 1000
        for per_socket in arrivals
        for key, seq, arrived in per_socket
        if (key, seq) in sent
    ]
    first = min(sent.values())
    last = max((arrived for per_socket in arrivals for *_, arrived in per_socket), default=first)
    span = max(last - first, 1e-9)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "delivered_pct": round(100 * len(latencies) / (len(sent) * subscribers), 2),
        "p50_ms": round(quantiles[49], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "frames": frames,
        "frames_per_s": round(frames / span),
        "server_cpu_s": round(cpu, 2),
        "frames_per_core_s": round(frames / cpu) if cpu else None,
        "messages_per_core_s": round(len(latencies) / cpu) if cpu else None,
        "messages_per_frame": round(len(latencies) / frames, 2) if frames else None,
    }


# --- Redis tap: when each message reached Redis (splits the latency in two) ----------


def tap(url: str, group: str, expected: int, out: str) -> None:
    """Subscribe to the canvas group's Redis channel as the web process does and note
    when each move's message arrives (commit -> Redis = the publishing side)."""
    import django
    import msgpack
    import redis

    django.setup()
    from entities.realtime import BATCH_TYPE

    pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"asgi__group__{group}")
    print("ready", flush=True)
    seen: list[tuple[str, int, float]] = []
    deadline = time.monotonic() + 120
    heard = time.monotonic()
    while len(seen) < expected and time.monotonic() < deadline:
        raw = pubsub.get_message(timeout=1)  # None also for the subscribe confirmation
        if raw is None:
            if time.monotonic() - heard > 15:
                break
            continue
        now = time.time()
        heard = time.monotonic()
        message = msgpack.unpackb(raw["data"])
        for each in message["messages"] if message["type"] == BATCH_TYPE else [message]:
            if each.get("seq") is not None:
                seen.append((each["entity_id"], each["seq"], now))
    Path(out).write_text(json.dumps(seen))


def start_tap(group: str, total: int) -> tuple[Any, str]:
    out = f"/tmp/bench-realtime-tap-{os.getpid()}.json"
    command = [sys.executable, __file__, "--tap", os.environ["REDIS_URL"], group, str(total), out]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process, out


def publishing_latency(commits: dict[tuple[str, int], float], tap_out: Any) -> dict[str, Any]:
    process, out = tap_out
    process.wait(timeout=60)
    seen = json.loads(Path(out).read_text())
    Path(out).unlink()
    delays = [(t - commits[eid, seq]) * 1000 for eid, seq, t in seen if (eid, seq) in commits]
    if len(delays) < 2:
        return {}
    quantiles = statistics.quantiles(delays, n=100)
    return {"to_redis_p50_ms": round(quantiles[49], 1), "to_redis_p99_ms": round(quantiles[98], 1)}


# --- the product: moves committed here ---------------------------------------------


def setup_canvas() -> tuple[Any, Any, list[Any]]:
    import django

    django.setup()
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    settings.DEBUG = False  # no query log growing in the movers (production runs so)

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
    in turn and falls short of 100/s on this machine)."""
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
        # Each thread moves its own entities: no two sends of one entity race, so no
        # message is dropped as stale (see CanvasConsumer._fresh).
        mine = entities[first::MOVER_THREADS]
        for index in range(first, total, MOVER_THREADS):
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
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


def start_threaded_server(port: int) -> tuple[Any, str]:
    """uvicorn in a thread of this process; the path of that thread's /proc stat."""
    import uvicorn

    from stitch.asgi import application

    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",  # no in-process job worker (and its connection pool) needed
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    native: list[int] = []

    def serve() -> None:
        native.append(threading.get_native_id())
        server.run()

    threading.Thread(target=serve, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"/proc/self/task/{native[0]}/stat"


def uvicorn_process(port: int, app: str, env: dict[str, str]) -> subprocess.Popen[Any]:
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-access-log"]
    command += ["--log-level", "warning", "--ws-per-message-deflate", "false"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nothing listens on {port}")


def run_layer(layer: str, subscribers: int, rate: int, seconds: float) -> dict[str, Any]:
    user, token, entities = setup_canvas()
    port, server_proc = free_port(), None
    if layer == "memory":
        server, stat = start_threaded_server(port)
    else:
        server_proc = uvicorn_process(port, "stitch.asgi:application", {**os.environ})
        stat = f"/proc/{server_proc.pid}/stat"
    url = f"ws://127.0.0.1:{port}/ws/flows/{entities[0].canvas_id}/?token={token.key}"
    total = int(rate * seconds)
    profiler, tapped = None, None
    try:
        clients = start_clients(url, subscribers, total, layer)
        if server_proc is not None:
            tapped = start_tap(f"canvas.{entities[0].canvas_id}", total)
        if PROFILE:  # py-spy on the server (collapsed stacks), e.g. BENCH_PROFILE=/tmp/p
            target = str(server_proc.pid if server_proc else os.getpid())
            command = ["py-spy", "record", "--format", "raw", "--rate", "250", "--nonblocking"]
            command += ["--output", f"{PROFILE}-{layer}.txt", "--pid", target]
            profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        cpu_before, began = cpu_seconds(stat), time.monotonic()
        commits = move_at_rate(entities, rate, seconds)
        moving = time.monotonic() - began
        arrivals, frames, _ = collect(clients)
        cpu = cpu_seconds(stat) - cpu_before
    finally:
        if profiler is not None:
            profiler.send_signal(2)  # SIGINT: py-spy writes its file and exits
            profiler.wait(timeout=30)
        if server_proc is not None:
            server_proc.terminate()
            server_proc.wait(timeout=10)
        else:
            server.should_exit = True
        user.delete()
    result = figures(commits, arrivals, frames, cpu, subscribers)
    if tapped is not None:
        result |= publishing_latency(commits, tapped)
    return {"layer": layer, "moves_per_s": round(total / moving, 1), **result}


# --- the bare ceiling: a websocket fan-out with nothing of ours ---------------------

BARE_PADDING = "x" * 600  # about the size of an entity.updated message


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every socket gets each broadcast as its own frame; a socket that sends any text
    leaves the audience and starts `rate` broadcasts/s, `total` of them."""
    state = bare_app.state  # type: ignore[attr-defined]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": '{"type": "snapshot", "entities": []}'})
    state["sockets"].append(send)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            if send in state["sockets"]:
                state["sockets"].remove(send)
            return
        if send in state["sockets"]:
            state["sockets"].remove(send)
        if state["task"] is None:
            state["task"] = asyncio.get_running_loop().create_task(broadcast(state))


async def broadcast(state: dict[str, Any]) -> None:
    rate, total = state["rate"], state["total"]
    start = time.monotonic()
    for seq in range(1, total + 1):
        await asyncio.sleep(max(0.0, start + seq / rate - time.monotonic()))
        text = json.dumps({"type": "bare", "seq": seq, "t": time.time(), "pad": BARE_PADDING})
        for send in list(state["sockets"]):
            await send({"type": "websocket.send", "text": text})
    state["task"] = None


bare_app.state = {  # type: ignore[attr-defined]
    "sockets": [],
    "task": None,
    "rate": int(os.environ.get("BENCH_BARE_RATE", "100")),
    "total": int(os.environ.get("BENCH_BARE_TOTAL", "1000")),
}


def run_bare(subscribers: int, rate: int, seconds: float) -> dict[str, Any]:
    import websockets.sync.client

    total = int(rate * seconds)
    port = free_port()
    env = {**os.environ, "BENCH_BARE_RATE": str(rate), "BENCH_BARE_TOTAL": str(total)}
    env["PYTHONPATH"] = str(ROOT / "bench")
    server = uvicorn_process(port, "realtime:bare_app", env)
    try:
        url = f"ws://127.0.0.1:{port}/bare/"
        clients = start_clients(url, subscribers, total, "bare")
        cpu_before = cpu_seconds(f"/proc/{server.pid}/stat")
        with websockets.sync.client.connect(url) as trigger:
            trigger.recv()
            trigger.send("go")  # this socket leaves the audience
            arrivals, frames, sent = collect(clients)
        cpu = cpu_seconds(f"/proc/{server.pid}/stat") - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = figures(sent, arrivals, frames, cpu, subscribers)
    # A message no socket received has no stamp: count against what was due.
    result["delivered_pct"] = round(result["delivered_pct"] * len(sent) / total, 2)
    stamped = sorted(sent.values())
    rate_achieved = (len(stamped) - 1) / max(stamped[-1] - stamped[0], 1e-9)
    return {"layer": "bare", "moves_per_s": round(rate_achieved, 1), **result}


# --- driver ------------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1).close()
        return True
    except OSError:
        return False


def child(args: argparse.Namespace, mode: str, redis_url: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [sys.executable, __file__, "--run", mode, "--subscribers", str(args.subscribers)]
    command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:g} ({low:g}-{high:g})"


def report(rows: dict[str, list[dict[str, Any]]], move_ceiling: float, seconds: float) -> None:
    bare = rows.get("bare", [])
    bare_fpc = statistics.median([r["frames_per_core_s"] for r in bare]) if bare else None
    bare_p99 = statistics.median([r["p99_ms"] for r in bare]) if bare else None
    bare_p50 = statistics.median([r["p50_ms"] for r in bare]) if bare else None
    print(f"\nmedian (range) of {max(len(r) for r in rows.values())} passes, {seconds:g} s each")
    for layer, results in rows.items():

        def median(key: str, results: list[dict[str, Any]] = results) -> float:
            return float(statistics.median([r[key] for r in results if r.get(key) is not None]))

        print(f"\n{layer}:")
        for key in ("moves_per_s", "delivered_pct", "p50_ms", "p99_ms", "max_ms", *TO_REDIS):
            if key in results[0]:
                print(f"  {key:20} {spread([r[key] for r in results])}")
        keys = ("frames_per_s", "frames_per_core_s", "messages_per_core_s", "messages_per_frame")
        for key in (*keys, "server_cpu_s"):
            print(f"  {key:20} {spread([r[key] for r in results if r[key] is not None])}")
        if layer == "bare":
            continue
        print("  ratios:")
        print(
            f"    moves/s / pgbench move ceiling ({move_ceiling:.0f}/s): "
            f"{median('moves_per_s') / move_ceiling:.4f}"
        )
        if bare_fpc:
            print(
                f"    frames/s per core / bare uvicorn's ({bare_fpc:.0f}): "
                f"{median('frames_per_core_s') / bare_fpc:.2f}"
            )
        if bare_p50 and bare_p99:
            print(
                f"    p50 / bare p50 ({bare_p50:g} ms): {median('p50_ms') / bare_p50:.2f}; "
                f"p99 / bare p99 ({bare_p99:g} ms): {median('p99_ms') / bare_p99:.2f}"
            )
        print(f"    p99 / target {TARGET_P99_MS} ms: {median('p99_ms') / TARGET_P99_MS:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--layer", choices=["memory", "redis", "both"], default="both")
    parser.add_argument("--no-ceiling", action="store_true", help="skip pgbench and bare")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--subscribe", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--tap", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.seconds = max(1.0, min(args.seconds, 60.0))  # bounded, whatever is asked
    if args.subscribe:
        url, count, expected, out = args.subscribe
        asyncio.run(subscribe(url, int(count), int(expected), out))
        return
    if args.tap:
        url, group, expected, out = args.tap
        tap(url, group, int(expected), out)
        return
    if args.run == "bare":
        print(json.dumps(run_bare(args.subscribers, args.rate, args.seconds)), flush=True)
        return
    if args.run:
        result = run_layer(args.run, args.subscribers, args.rate, args.seconds)
        print(json.dumps(result), flush=True)
        return

    from bench import ceiling

    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v0"]
    subprocess.run(migrate, cwd=ROOT, check=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    move_ceiling = 0.0
    if not args.no_ceiling:
        measured = ceiling.measure(["move"], seconds=10, passes=3)
        move_ceiling = measured["move"]["median"]
        print(f"pgbench move ceiling: {ceiling.describe(measured)} transactions/s", flush=True)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    layers = ["memory", "redis"] if args.layer == "both" else [args.layer]
    if "redis" in layers and not redis_reachable(redis_url):
        print(f"redis layer skipped: no Redis at {redis_url}")
        layers.remove("redis")
    modes = (["bare"] if not args.no_ceiling else []) + layers
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for index in range(args.passes):
        for mode in modes:
            result = child(args, mode, redis_url if mode == "redis" else None)
            result["load_average"] = os.getloadavg()[0]
            print(f"pass {index + 1}: {json.dumps(result)}", flush=True)
            rows[mode].append(result)
    report(rows, move_ceiling or float("nan"), args.seconds)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
