"""Things worth knowing (SPEC 13): each function here is the one call a code path makes
when something happens; it counts it (`stitch.metrics`) and, when an operator would
want to hear of it, writes one log line carrying the ids it concerns. Healthy work
writes no line.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.http import HttpResponseBase
from rest_framework.response import Response
from rest_framework.views import APIView

from stitch import metrics

logger = logging.getLogger("stitch.ops")

# --- webhooks --------------------------------------------------------------------------
_DELIVERY_OUTCOMES = {
    202: "accepted",
    200: "duplicate",
    400: "invalid",
    401: "refused",
    404: "unknown_endpoint",
    405: "invalid",
    410: "inactive",
    413: "too_large",
}


def webhook_answered(config: Any, response: HttpResponseBase, *, reason: str = "") -> Any:
    """Count a delivery by what the intake answered (and log a refusal); returns the
    response, so the view can `return observe.webhook_answered(config, response)`."""
    status = response.status_code
    outcome = _DELIVERY_OUTCOMES.get(status, "error")
    source = getattr(config, "source", None)
    metrics.record_webhook_delivery(source=source, outcome=outcome)
    if config is not None and outcome not in ("accepted", "duplicate"):
        logger.warning(
            "webhook delivery refused",
            extra={
                "endpoint": config.endpoint_slug,
                "source": source,
                "status": status,
                "reason": reason or outcome,
            },
        )
    return response


def webhook_processed(event: Any) -> None:
    metrics.record_webhook_processed(source=event.webhook_config.source, outcome="completed")


def webhook_failed(event: Any) -> None:
    metrics.record_webhook_processed(source=event.webhook_config.source, outcome="failed")
    logger.warning(
        "webhook event failed",
        extra={"event_id": str(event.pk), "entity_id": _str(event.entity_id), "error": event.error},
    )


# --- engine ----------------------------------------------------------------------------
def dispatch_answered(*, started: float, status: str) -> None:
    """A worker answered (2xx and waits for its callback: `accepted`), or a built-in
    worker / synchronous reply settled the node (`completed` / `failed`)."""
    outcome = "accepted" if status == "running" else status
    metrics.record_dispatch(outcome=outcome, seconds=time.perf_counter() - started)


def dispatch_retried(*, started: float, error: BaseException, attempt: int) -> None:
    metrics.record_dispatch(outcome="retried", seconds=time.perf_counter() - started)
    logger.warning("dispatch retried", extra={"attempt": attempt, "error": str(error)})


def dispatch_gave_up(*, started: float, error: str | None, attempts: int) -> None:
    metrics.record_dispatch(outcome="gave_up", seconds=time.perf_counter() - started)
    logger.warning("dispatch given up", extra={"attempts": attempts, "error": error})


def node_timed_out(*, run_id: Any, node_id: str) -> None:
    metrics.record_node_timeouts(1)
    logger.warning("node timed out", extra={"run_id": str(run_id), "node_id": node_id})


class CallbackResultsCounted(APIView):
    """Base of the callback view: counts every answer by its result (the `result` of a
    200, else what its status means), exceptions turned into answers included."""

    def finalize_response(
        self, request: Any, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        metrics.record_callback(_callback_result(response))
        return response


_CALLBACK_STATUSES = {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}


def _callback_result(response: Any) -> str:
    if response.status_code == 200:
        data = getattr(response, "data", None)
        result = data.get("result") if isinstance(data, dict) else None
        return result if result in ("applied", "unchanged", "ignored") else "applied"
    return _CALLBACK_STATUSES.get(response.status_code, "error")


# --- realtime -----------------------------------------------------------------------------
_COUNTED = "_stitch_counted_open"


def websocket_opened(consumer: Any) -> None:
    """A socket was accepted for what it asked (not one refused with a close code)."""
    setattr(consumer, _COUNTED, True)
    metrics.record_websocket_opened()


def websocket_closed(consumer: Any) -> None:
    """Call from disconnect(), whatever happened: only a socket counted open is uncounted."""
    if getattr(consumer, _COUNTED, False):
        setattr(consumer, _COUNTED, False)
        metrics.record_websocket_closed()


def slow_subscriber_closed(consumer: Any) -> None:
    """A socket fell behind past its buffer and is closed with 4408 (canvas or inbox)."""
    metrics.record_slow_subscriber_closed()
    canvas_id = getattr(consumer, "canvas_id", None)
    path = consumer.scope.get("path")  # never the query string, which may hold a token
    logger.warning(
        "slow websocket subscriber closed", extra={"canvas_id": _str(canvas_id), "path": path}
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
