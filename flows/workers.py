"""Registry of built-in workers, selected by a Worker node's `data.workerType`.

A built-in worker runs inside the task worker instead of over HTTP and reports
through the same completion path as an HTTP callback. Register new ones with
`@register_worker("name")`; the engine and graph validation read this registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkerCall:
    run_id: str
    node_id: str
    input: Any
    config: dict[str, Any]
    # Which firing of the node this is (retries count up); a worker that finishes
    # later (`delay`) hands it back so a stale result is never applied.
    attempt: int = 1
    # Seconds the worker may take (the node's `timeoutSeconds`); a built-in worker
    # that calls out (`http`) gives its own requests this long too.
    timeout: float = 30.0


@dataclass(frozen=True)
class WorkerOutcome:
    # "completed" | "failed"; or "running": the worker reports later through the
    # completion path itself (as `delay` does with a scheduled job).
    status: str
    output: Any = None
    error: str | None = None


class RetryableWorkerError(Exception):
    """A transient failure (network error, timeout, 5xx, 429): the dispatch job is
    retried with exponential backoff and jitter, and the node fails with this message
    once the node's `retries` are used up. `retry_after` (seconds, from the answer's
    `Retry-After` header) sets the wait instead."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


BuiltinWorker = Callable[[WorkerCall], Awaitable[WorkerOutcome]]
_REGISTRY: dict[str, BuiltinWorker] = {}


def register_worker(name: str) -> Callable[[BuiltinWorker], BuiltinWorker]:
    def decorator(func: BuiltinWorker) -> BuiltinWorker:
        _REGISTRY[name] = func
        return func

    return decorator


def builtin_worker(name: str) -> BuiltinWorker | None:
    return _REGISTRY.get(name)


def worker_types() -> list[str]:
    return sorted(_REGISTRY)
