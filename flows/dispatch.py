"""Worker dispatch (SPEC 5): what to send, the signed HTTP call, and how its answer is
read. Runs in the task worker, never inside a transaction or a request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiohttp
import httpx
from django.conf import settings

from flows.backoff import parse_retry_after
from flows.engine.plan import plan_for
from flows.engine.tokens import callback_url, sign_body
from flows.models import NodeStatus, RunNode, RunStatus
from flows.workers import RetryableWorkerError, WorkerCall, WorkerOutcome, builtin_worker
from stitch import jsondata
from stitch.logs import current_request_id

EXCERPT = 300


@dataclass(frozen=True)
class Target:
    call: WorkerCall
    url: str | None
    worker_type: str | None
    timeout: float
    retries: int


def _number(value: Any, default: float, minimum: float = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        return default
    return float(value)


def load_targets(*, run_id: str, nodes: Sequence[tuple[str, int]]) -> list[Target]:
    """The nodes of a dispatch job to dispatch, in one query. A node is left out when
    the job is stale for it (node retried, finished, or the run cancelled since the job
    was deferred)."""
    attempts = dict(nodes)
    rows = (
        RunNode.objects.filter(run_id=run_id, node_id__in=list(attempts), status=NodeStatus.RUNNING)
        .exclude(run__status=RunStatus.CANCELLED)
        .values("node_id", "attempts", "template_id", "input", "run__flow_version_id")
    )
    targets = [
        _target(run_id, row) for row in rows if attempts.get(row["node_id"]) == row["attempts"]
    ]
    order = {node_id: position for position, node_id in enumerate(attempts)}
    return sorted(targets, key=lambda target: order[target.call.node_id])


def load_target(*, run_id: str, node_id: str, attempt: int) -> Target | None:
    """`load_targets` for one node: None when the job is stale for it."""
    found = load_targets(run_id=run_id, nodes=[(node_id, attempt)])
    return found[0] if found else None


def _target(run_id: str, row: Mapping[str, Any]) -> Target:
    data = plan_for(row["run__flow_version_id"]).data(row["template_id"])
    timeout = _number(data.get("timeoutSeconds"), settings.WORKER_DEFAULT_TIMEOUT_SECONDS, 0.1)
    call = WorkerCall(
        run_id=run_id,
        node_id=row["node_id"],
        input=row["input"],
        config=data,
        attempt=row["attempts"],
        timeout=timeout,
    )
    return Target(
        call=call,
        url=data.get("webhookUrl") or None,
        worker_type=data.get("workerType") or None,
        timeout=timeout,
        retries=int(_number(data.get("retries"), settings.WORKER_DEFAULT_RETRIES)),
    )


async def perform(target: Target, session: aiohttp.ClientSession | None = None) -> WorkerOutcome:
    """Run the node's worker once. Raises RetryableWorkerError for transient failures."""
    if target.url:
        return await http_dispatch(target, session)
    worker = builtin_worker(str(target.worker_type))
    if worker is None:
        return WorkerOutcome("failed", error=f"unknown workerType {target.worker_type!r}")
    try:
        return await asyncio.wait_for(worker(target.call), timeout=target.timeout)
    except TimeoutError as exc:
        raise RetryableWorkerError(f"worker timed out after {target.timeout:g}s") from exc


# --- outbound address policy -----------------------------------------------------------
async def ensure_allowed(url: str) -> None:
    """Refuse private, loopback and link-local destinations unless allowed by
    WORKER_ALLOW_PRIVATE_ADDRESSES (an SSRF guard for installations that need one)."""
    if settings.WORKER_ALLOW_PRIVATE_ADDRESSES:
        return
    host = urlparse(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RetryableWorkerError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise PermissionError(f"{host} resolves to non-public address {address}")


# --- HTTP ----------------------------------------------------------------------------------
# Keyed by the loop itself, weakly: an `id()` key could be reused by a later loop,
# which would then get a client whose pooled connections belong to a closed loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    """One pooled client per event loop for the built-in `http` worker's calls."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        size = int(settings.WORKER_HTTP_CONNECTIONS)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        client = _clients[loop] = httpx.AsyncClient(limits=limits, follow_redirects=False)
    return client


def dispatch_body(call: WorkerCall) -> bytes:
    payload = {
        "run_id": call.run_id,
        "node_id": call.node_id,
        "input": call.input,
        "config": call.config,
        "callback_url": callback_url(call.run_id, call.node_id, call.attempt),
    }
    return json.dumps(payload, separators=(",", ":")).encode()


# Dispatches go out on aiohttp: under a batch's concurrency httpx's connection pool costs
# CPU growing with the requests waiting on it (bench/engine.py: 1,000 concurrent posts
# to a local echo worker took 7 s through httpx, 0.5 s through aiohttp). The answer is
# handed on as an httpx.Response, so reading it (`read_reply`) is one code for both.
# A session per job, not per process: one outliving its event loop (tests, a worker
# restarting its loop) would hold sockets of a closed loop.
def dispatch_session() -> aiohttp.ClientSession:
    """A pooled session for the dispatches of one job (`WORKER_HTTP_CONNECTIONS`
    connections), closed by the job when it ends; no cookies kept (one worker's cookie
    must not travel with another node's dispatch)."""
    connector = aiohttp.TCPConnector(limit=int(settings.WORKER_HTTP_CONNECTIONS))
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


# aiohttp has already decoded the body: httpx must not decode it again.
_FRAMING = {b"content-encoding", b"content-length", b"transfer-encoding"}


def _kept(answer: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in answer.raw_headers if k.lower() not in _FRAMING]


async def http_dispatch(
    target: Target, session: aiohttp.ClientSession | None = None
) -> WorkerOutcome:
    """POST the signed dispatch; `session` is the job's (None: one for this call)."""
    if session is None:
        async with dispatch_session() as own:
            return await http_dispatch(target, own)
    url = str(target.url)
    try:
        await ensure_allowed(url)
    except PermissionError as exc:
        return WorkerOutcome("failed", error=str(exc))
    body = dispatch_body(target.call)
    headers = {"Content-Type": "application/json", "X-Stitch-Signature": sign_body(body)}
    request_id = current_request_id()  # the job's: the request that led to this dispatch
    if request_id:
        headers["X-Request-ID"] = request_id
    timeout = aiohttp.ClientTimeout(total=target.timeout)
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as answer:
            content = await answer.read()
            response = httpx.Response(answer.status, headers=_kept(answer), content=content)
    except TimeoutError as exc:
        raise RetryableWorkerError(f"worker timed out after {target.timeout:g}s") from exc
    except (aiohttp.ClientError, ValueError) as exc:
        raise RetryableWorkerError(f"worker unreachable: {exc!r}") from exc
    return read_reply(response)


def excerpt(response: httpx.Response) -> str:
    """The start of a body for an error message (storable: no NUL character)."""
    return response.text[:EXCERPT].replace("\x00", "\\u0000")


def retryable(response: httpx.Response, what: str) -> RetryableWorkerError:
    """The error for a 429/5xx answer, with the wait its `Retry-After` asks for."""
    wait = parse_retry_after(response.headers.get("Retry-After"))
    return RetryableWorkerError(
        f"{what} answered HTTP {response.status_code}: {excerpt(response)}", retry_after=wait
    )


NOT_JSON = object()


def json_body(response: httpx.Response) -> Any:
    """The JSON body (read by stitch.jsondata), or NOT_JSON. Raises JSONDataError for
    JSON that cannot be stored (NUL, lone surrogates, 1e400, nesting too deep)."""
    try:
        return jsondata.loads(response.content, path="reply")
    except jsondata.JSONDataError:
        try:
            json.loads(response.content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return NOT_JSON
        except (ValueError, RecursionError):
            pass  # JSON, but numbers or nesting beyond what can be used
        raise


def read_reply(response: httpx.Response) -> WorkerOutcome:
    """2xx: running until the callback, or a synchronous result; 5xx/429: retry;
    anything else fails the node at once with the status and a body excerpt."""
    code = response.status_code
    if code == 429 or code >= 500:
        raise retryable(response, "worker")
    if not 200 <= code < 300:
        return WorkerOutcome("failed", error=f"worker answered HTTP {code}: {excerpt(response)}")
    try:
        reply = json_body(response)
    except jsondata.JSONDataError as exc:
        return WorkerOutcome("failed", error=f"worker reply cannot be used: {exc}")
    if isinstance(reply, dict) and reply.get("status") in ("completed", "failed"):
        error = reply.get("error")
        return WorkerOutcome(
            reply["status"],
            output=reply.get("output"),
            error=str(error) if error is not None else None,
        )
    return WorkerOutcome("running")
