"""Real servers for realtime tests: uvicorn in a thread of the test process, or as
separate processes (web, procrastinate worker) against the test database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse, urlunparse

import httpx
import uvicorn
from django.conf import settings
from django.db import connection
from websockets.sync.client import ClientConnection

ROOT = Path(__file__).resolve().parents[2]
# Pub/sub channels are not scoped by Redis database number, but the group names carry
# the canvas's fresh UUID, so parallel runs never hear each other; db 13 keeps any
# keys the layer writes away from other users of this Redis.
REDIS_DB = 13
LAYERS = ["memory", "redis"]


def redis_url() -> str:
    base = urlparse(os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunparse(base._replace(path=f"/{REDIS_DB}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test copy)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def threaded_server() -> Iterator[str]:
    """uvicorn serving stitch.asgi in a thread of this process; yields host:port.

    Sharing the process means sharing the in-process channel layer: a move committed
    by the test thread must reach sockets served on the server's loop in that thread.
    """
    from stitch.asgi import application

    # Server threads open their own connections; without persistent connections
    # each is closed after use, so none is left to block dropping the test database.
    previous = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        connection.settings_dict["CONN_MAX_AGE"] = previous


@contextmanager
def layer_server(layer: str, settings: Any, logs: Path, **overrides: int) -> Iterator[str]:
    """A server on the given channel layer, `overrides` applied to its settings; yields
    host:port. "memory": uvicorn in a thread of this process (in-process layer);
    "redis": uvicorn in its own process on the Redis layer (db 13), and this process
    publishes to the same Redis, as a background worker does."""
    if layer == "memory":
        for name, value in overrides.items():
            setattr(settings, name, value)
        with threaded_server() as hostport:
            yield hostport
        return
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "entities.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url()], "capacity": settings.CHANNEL_CAPACITY},
        }
    }
    port = free_port()
    env = child_env(REDIS_URL=redis_url(), RUN_JOBS_IN_WEB="false")
    env.update({name: str(value) for name, value in overrides.items()})
    with processes([uvicorn_command(port)], env, logs):
        wait_until_serving(port)
        yield f"127.0.0.1:{port}"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "PYTEST_CURRENT_TEST"}}
    # The product's settings (tests.settings only tunes the test process itself).
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="stitch.settings",
        DEBUG="true",
        # The test process's secrets (tests/settings.py), so tokens and sessions
        # minted on either side are valid on the other.
        SECRET_KEY=settings.SECRET_KEY,
        WORKER_SECRETS=",".join(settings.WORKER_SECRETS),
    )
    env.update(extra)
    return env


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str], logs: Path) -> Iterator[None]:
    """Start each command in its own process group; kill them all on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[Any]] = []
    try:
        for index, command in enumerate(commands):
            log = open(logs / f"proc-{index}.log", "wb")  # noqa: SIM115 (closed with the process)
            started.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "stitch.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def wait_until_serving(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no server on port {port} after {timeout} s")


def echo_workflow() -> dict:
    """Two built-in `echo` workers in a row: runs in the worker process, no HTTP."""
    node = {"type": "Worker", "position": {"x": 0, "y": 0}}
    return {
        "nodes": [
            node | {"id": "a", "data": {"label": "A", "workerType": "echo"}},
            node | {"id": "b", "data": {"label": "B", "workerType": "echo"}},
        ],
        "edges": [{"id": "a-b", "source": "a", "target": "b"}],
    }


# Messages of batch frames read but not yet handed out, per socket.
_unread: weakref.WeakKeyDictionary[ClientConnection, deque[dict]] = weakref.WeakKeyDictionary()
# Frames each socket read (a batch counts once), and how many of them were batches.
frames_read: weakref.WeakKeyDictionary[ClientConnection, int] = weakref.WeakKeyDictionary()
batches_read: weakref.WeakKeyDictionary[ClientConnection, int] = weakref.WeakKeyDictionary()


def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The socket's next SPEC 9 message, unpacking `{"type": "batch", "messages": [...]}`
    frames (README, Realtime) the way the live page does."""
    unread = _unread.setdefault(ws, deque())
    while not unread:
        frame = json.loads(ws.recv(timeout=timeout))
        frames_read[ws] = frames_read.get(ws, 0) + 1
        if frame.get("type") == "batch":
            assert isinstance(frame["messages"], list) and len(frame["messages"]) > 1, frame
            batches_read[ws] = batches_read.get(ws, 0) + 1
            unread.extend(frame["messages"])
        else:
            unread.append(frame)
    return unread.popleft()


def nothing_unread(ws: ClientConnection) -> bool:
    return not _unread.get(ws)


def messages_until(ws: ClientConnection, last: Callable[[dict], bool]) -> list[dict]:
    seen: list[dict] = []
    while not seen or not last(seen[-1]):
        seen.append(receive(ws, timeout=20))
    return seen


def run_finished(run_id: str) -> Callable[[dict], bool]:
    def finished(message: dict) -> bool:
        return message["type"] == "run.updated" and message == message | {
            "run_id": run_id,
            "node_id": None,
            "status": "completed",
        }

    return finished


def server_user(username: str = "operator", password: str = "pw-for-tests", **fields: Any) -> Any:
    """A user who can sign in to a server started by a test: those run the product's
    settings, which know no test-speed MD5 hashes."""
    from django.contrib.auth.hashers import make_password

    from tests.factories import UserFactory

    user = UserFactory.create(username=username, **fields)
    user.password = make_password(password, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    return user


def sign_in(page: Any, base: str, next_path: str, password: str = "pw-for-tests") -> None:
    """Open `next_path` in a Playwright page and sign in as `operator` on the way."""
    page.goto(f"{base}{next_path}")
    assert "/accounts/login/" in page.url  # login required
    page.fill("#id_username", "operator")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{next_path}")
