"""Structured logs: one line per thing worth knowing, carrying the ids it concerns.

Code logs through the standard library (`logging.getLogger(__name__)`); ids reach
every line two ways:

- bound for a stretch of work with `bound_ids(...)` (context variables, so they
  follow a request into its view thread and a job into `sync_to_async` calls): the
  request middleware binds `request_id` (and the ids in the URL), the job middleware
  binds `request_id`, `job_id`, `task` and the ids found in the job's arguments;
- given for one line with `extra={"run_id": ...}`.

`LOG_FORMAT=json` renders each line as one JSON object (structlog's ProcessorFormatter
over the standard library), `plain` as readable key=value text.

A request's id travels into the jobs it defers as the reserved job argument
`_request_id` (`job_kwargs`), which `job_log_context` takes out again before the task
runs: tasks never see it, so their signatures stay as they are.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars

ID_FIELDS = ("request_id", "event_id", "run_id", "node_id", "entity_id")
REQUEST_ID_KWARG = "_request_id"
# What an X-Request-ID may hold to be kept: bounded, and nothing that could break a
# log line or a header (no spaces, quotes, control characters).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


# --- ids ------------------------------------------------------------------------------
def request_id_from(header: str | None) -> str:
    """The client's request id when it is safe to keep, else a fresh one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    value = get_contextvars().get("request_id")
    return str(value) if value else None


def bound_ids(**ids: Any) -> contextlib.AbstractContextManager[None]:
    """Bind ids (None values skipped) to every log line until the block ends."""
    return bound_contextvars(**_present(ids))


def bind_ids(**ids: Any) -> None:
    """Bind ids for the rest of the current context (a request's or a job's)."""
    bind_contextvars(**_present(ids))


def _present(ids: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in ids.items() if value is not None}


# --- jobs -----------------------------------------------------------------------------
def job_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A job's arguments, plus the id of the request that defers it (if any)."""
    request_id = current_request_id()
    return {**kwargs, REQUEST_ID_KWARG: request_id} if request_id else kwargs


async def job_log_context(
    call_next: Callable[[], Awaitable[Any]], context: Any, worker: Any
) -> Any:
    """procrastinate worker middleware: each job's lines carry its request id and ids.

    The reserved argument is removed from the job's own kwargs dict before the task is
    called (the worker reads `job.task_kwargs` only then); the row keeps it, so a retry
    of the job carries it again.
    """
    job = context.job
    request_id = job.task_kwargs.pop(REQUEST_ID_KWARG, None)
    ids = {name: job.task_kwargs.get(name) for name in ID_FIELDS[1:]}
    with bound_ids(request_id=request_id, job_id=job.id, task=job.task_name, **ids):
        return await call_next()


def on_app_ready(app: Any) -> None:
    """PROCRASTINATE_ON_APP_READY: every worker of the app runs `job_log_context`."""
    middleware = list(app.worker_defaults.get("worker_middleware") or [])
    app.worker_defaults["worker_middleware"] = [job_log_context, *middleware]


# --- formatting -----------------------------------------------------------------------
_PRE_CHAIN: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    # `extra={...}` of a standard library call: its ids win over the bound ones.
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _drop_noise(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    # django.request passes the request object as `extra` (its repr is noise), uvicorn a
    # colour-coded copy of its message; an id that does not apply is left out, not null.
    event.pop("request", None)
    event.pop("color_message", None)
    return {key: value for key, value in event.items() if value is not None}


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """One JSON object per line: timestamp, level, logger, message, ids, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            foreign_pre_chain=[*_PRE_CHAIN, _drop_noise],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(),
            ],
        )


class PlainFormatter(structlog.stdlib.ProcessorFormatter):
    """Readable lines for a terminal: time, level, logger, message, then key=value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            foreign_pre_chain=[*_PRE_CHAIN, _drop_noise],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0),
            ],
        )


def logging_config(*, json_lines: bool, level: str, log_requests: bool) -> dict[str, Any]:
    """The LOGGING dict of the settings."""
    handler = {"class": "logging.StreamHandler", "formatter": "json" if json_lines else "plain"}
    ours = {"handlers": ["console"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "stitch.logs.JsonFormatter"},
            "plain": {"()": "stitch.logs.PlainFormatter"},
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "procrastinate": {"level": "WARNING"},
            "pgserver": {"level": "WARNING"},
            # httpx logs every request at INFO: a line per worker dispatch is noise.
            "httpx": {"level": "WARNING"},
            # Django logs every 4xx as a warning: a client's mistake is not news (each
            # refusal worth knowing has its own line); 5xx stay, as errors.
            "django.request": {"level": "WARNING" if log_requests else "ERROR"},
            # uvicorn configures its own handlers before Django starts; these replace
            # them so its lines share the format. Its access log is a line per request:
            # off unless LOG_REQUESTS (ours then logs each request with its id).
            "uvicorn": {**ours, "level": "INFO"},
            "uvicorn.error": {**ours, "level": "INFO"},
            "uvicorn.access": {**ours, "level": "WARNING"},
        },
    }
