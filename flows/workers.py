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


@dataclass(frozen=True)
class WorkerOutcome:
    status: str  # "completed" | "failed"
    output: Any = None
    error: str | None = None


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
