"""Worker callbacks (SPEC 5): `POST /api/runs/{run}/nodes/{node}/callback/?token=...`.

One reading of a callback shared by both ways in: the DRF view (`flows.runs_api`, what
Django's URL resolver serves) and the thin ASGI route in front of Django
(`flows.callback_route`, what uvicorn serves). Token first (404 for an unknown run or
node, 403 for a wrong token), then the body (400 naming each field at fault), then the
engine (`results_apply`): 200 `{result}`, or 409 `{result, detail}` for an earlier
attempt's token or a result contradicting a finished node.

Concurrent callbacks of one run are coalesced (`Coalescer`): while one transaction of
the run is under way in this process, the callbacks arriving for it wait, and go
together in the next one, under one acquisition of the run lock. Each is still judged
on its own and gets its own answer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from flows import engine
from flows.engine.services import Result, RunNotFound
from flows.engine.tokens import token_attempt
from flows.models import RunNode
from stitch import jsondata

logger = logging.getLogger(__name__)
STATUSES = ("completed", "failed")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer and what it counts as (`stitch_callbacks_total{result}`)."""

    status: int
    body: dict[str, Any]
    result: str


def _refused(status: int, detail: str, result: str) -> Answer:
    return Answer(status, {"detail": detail}, result)


def token_refusal(run_id: str, node_id: str) -> Answer:
    """A token that is not genuine: 404 when the run or node does not exist (so a
    wrong token is only 403 for real nodes). One indexed lookup; a node id PostgreSQL
    could not even compare (a NUL character) names no node."""
    if "\x00" in node_id or not RunNode.objects.filter(run_id=run_id, node_id=node_id).exists():
        return _refused(404, "unknown run or node", "not_found")
    return _refused(403, "invalid callback token", "forbidden")


def invalid(errors: dict[str, list[str]]) -> Answer:
    return Answer(400, errors, "invalid")


def body_read(raw: bytes) -> Any:
    """The parsed body (empty: an empty object, as DRF reads it); JSONDataError for what
    is not JSON or cannot be stored."""
    return jsondata.loads(raw) if raw else {}


def fields_read(
    data: Any, *, run_id: str, node_id: str, attempt: int
) -> Result | dict[str, list[str]]:
    """The callback's fields as a `Result`, or the errors by field (DRF's shape and
    wording: the DRF view answers with the same)."""
    if not isinstance(data, dict):
        return {"body": ["must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    status = data.get("status")
    if "status" not in data:
        errors["status"] = ["This field is required."]
    elif status is None:
        errors["status"] = ["This field may not be null."]
    elif not isinstance(status, str) or status not in STATUSES:
        errors["status"] = [f'"{status}" is not a valid choice.']
    raw_error, error = data.get("error"), None
    if raw_error is not None:
        if isinstance(raw_error, bool) or not isinstance(raw_error, str | int | float):
            errors["error"] = ["Not a valid string."]
        else:
            error = str(raw_error).strip() or None  # DRF's CharField trims; blank: none
    if errors:
        return errors
    return Result(
        node_id=node_id, status=str(status), output=data.get("output"), error=error, attempt=attempt
    )


def applied_answer(applied: engine.CallbackResult) -> Answer:
    if applied.result in ("stale", "conflict"):
        return Answer(409, {"result": applied.result, "detail": applied.detail}, "conflict")
    if applied.result == "missing":
        return _refused(404, applied.detail, "not_found")
    return Answer(200, {"result": applied.result}, applied.result)


# --- coalescing -------------------------------------------------------------------------
@dataclass
class _Waiting:
    results: list[Result] = field(default_factory=list)
    answers: list[asyncio.Future[Answer]] = field(default_factory=list)


def batch_apply(run_id: str, results: list[Result]) -> list[Answer]:
    """One transaction for the callbacks of a run that arrived together. If it fails
    (one of them the database refuses, say), each is applied on its own, so only that
    one fails."""
    close_old_connections()
    try:
        try:
            applied = engine.results_apply(run_id=run_id, results=results)
            return [applied_answer(a) for a in applied]
        except RunNotFound as exc:
            return [_refused(404, str(exc), "not_found")] * len(results)
        except Exception:
            if len(results) == 1:
                raise
            logger.exception("callbacks of run %s could not be applied together", run_id)
        return [answer for result in results for answer in batch_apply(run_id, [result])]
    finally:
        close_old_connections()


class Coalescer:
    """Per event loop: at most one transaction per run in flight from this process; the
    callbacks that arrive meanwhile wait and go together in the next one (group commit).
    A lone callback goes at once: nothing waits on purpose."""

    def __init__(self) -> None:
        self.waiting: dict[str, _Waiting] = {}
        self.draining: dict[str, asyncio.Task[None]] = {}

    async def apply(self, run_id: str, result: Result) -> Answer:
        waiting = self.waiting.setdefault(run_id, _Waiting())
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        waiting.results.append(result)
        waiting.answers.append(answer)
        if run_id not in self.draining:
            self.draining[run_id] = asyncio.create_task(self._drain(run_id))
        return await answer

    async def _drain(self, run_id: str) -> None:
        try:
            while (waiting := self.waiting.pop(run_id, None)) is not None:
                try:
                    # Not thread-sensitive: transactions of different runs go in parallel
                    # (each thread takes a connection from the pool).
                    answers = await sync_to_async(batch_apply, thread_sensitive=False)(
                        run_id, waiting.results
                    )
                except Exception as exc:
                    for future in waiting.answers:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for future, answer in zip(waiting.answers, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            del self.draining[run_id]


_coalescers: dict[asyncio.AbstractEventLoop, Coalescer] = {}


def coalescer() -> Coalescer:
    loop = asyncio.get_running_loop()
    found = _coalescers.get(loop)
    if found is None:
        for old in [other for other in _coalescers if other.is_closed()]:
            del _coalescers[old]
        found = _coalescers[loop] = Coalescer()
    return found


async def callback_receive(*, run_id: str, node_id: str, token: str | None, raw: bytes) -> Answer:
    """A callback as the ASGI route receives it: token, body, then the engine."""
    attempt = token_attempt(run_id, node_id, token)
    if attempt is None:
        return await sync_to_async(_token_refusal, thread_sensitive=False)(run_id, node_id)
    try:
        data = body_read(raw)
    except jsondata.JSONDataError as exc:
        return invalid({exc.field: [str(exc)]})
    result = fields_read(data, run_id=run_id, node_id=node_id, attempt=attempt)
    if isinstance(result, dict):
        return invalid(result)
    return await coalescer().apply(run_id, result)


def _token_refusal(run_id: str, node_id: str) -> Answer:
    close_old_connections()
    try:
        return token_refusal(run_id, node_id)
    finally:
        close_old_connections()
