"""Built-in workers (SPEC 5): `echo`, `http`, `delay`. Imported by FlowsConfig.ready()
so the registry is filled before any graph is validated."""

from __future__ import annotations

from typing import Any

import httpx
from asgiref.sync import sync_to_async

from flows.workers import (
    RetryableWorkerError,
    WorkerCall,
    WorkerOutcome,
    register_worker,
)
from stitch.jsondata import JSONDataError

MAX_DELAY_SECONDS = 7 * 24 * 3600


@register_worker("echo")
async def echo(call: WorkerCall) -> WorkerOutcome:
    """Output = input."""
    return WorkerOutcome("completed", output=call.input)


@register_worker("http")
async def http(call: WorkerCall) -> WorkerOutcome:
    """Call `data.url` (`data.method`, default POST with the node input as JSON; GET
    sends none) and output its JSON response (or its text when it is not JSON)."""
    from flows.dispatch import NOT_JSON, ensure_allowed, excerpt, http_client, json_body, retryable

    url, method = call.config.get("url"), str(call.config.get("method") or "POST").upper()
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return WorkerOutcome("failed", error="data.url must be an http(s) URL")
    try:
        await ensure_allowed(url)
    except PermissionError as exc:
        return WorkerOutcome("failed", error=str(exc))
    body: dict[str, Any] = {} if method in ("GET", "HEAD") else {"json": call.input}
    try:
        # The node's `timeoutSeconds`, not httpx's default of 5 s.
        response = await http_client().request(method, url, timeout=call.timeout, **body)
    except httpx.TimeoutException as exc:
        raise RetryableWorkerError(f"{url} timed out after {call.timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise RetryableWorkerError(f"{url} unreachable: {exc!r}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise retryable(response, url)
    if not response.is_success:
        return WorkerOutcome(
            "failed", error=f"{url} answered HTTP {response.status_code}: {excerpt(response)}"
        )
    try:
        output = json_body(response)
    except JSONDataError as exc:
        return WorkerOutcome("failed", error=f"{url} answered JSON that cannot be stored: {exc}")
    if output is NOT_JSON:
        return WorkerOutcome("completed", output=response.text)
    return WorkerOutcome("completed", output=output)


@register_worker("delay")
async def delay(call: WorkerCall) -> WorkerOutcome:
    """Complete after `data.seconds` with output = input, through a job scheduled that
    far ahead (no job sleeps meanwhile)."""
    seconds = call.config.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return WorkerOutcome("failed", error="data.seconds must be a number")
    if not 0 <= seconds <= MAX_DELAY_SECONDS:
        return WorkerOutcome("failed", error=f"data.seconds must be 0..{MAX_DELAY_SECONDS}")
    await sync_to_async(_schedule_completion)(call, float(seconds))
    return WorkerOutcome("running")


def _schedule_completion(call: WorkerCall, seconds: float) -> None:
    from flows.engine import completion_schedule

    completion_schedule(
        run_id=call.run_id,
        node_id=call.node_id,
        attempt=call.attempt,
        seconds=seconds,
        output=call.input,
    )
