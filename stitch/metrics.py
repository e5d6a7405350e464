"""Prometheus metrics recorded by the code (SPEC 13). Served by `stitch.metrics_view`.

Counters and histograms live in prometheus-client's multiprocess mode: every web and
worker process writes its own files under METRICS_DIR (`stitch.metrics_dir`) and a
scrape adds them up, so totals are right with any number of processes. Figures that
are a state of the database (queue depths, ages, runs by status) are read from
PostgreSQL at scrape time instead (`stitch.metrics_view`), never counted here.

Each `record_*` function is the one line a call site adds. Recording costs a dict
lookup and an mmapped write (a few microseconds): no query, no lock held across I/O.
Label values are closed sets, so the number of series stays bounded whatever clients
send.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from stitch import metrics_dir

# prometheus-client picks single- or multi-process mode when it is first imported.
metrics_dir.prepare(settings.METRICS_DIR)

# Re-exported (`X as X`) for stitch.metrics_view, which must not import it first.
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST  # noqa: E402
from prometheus_client import CollectorRegistry as CollectorRegistry  # noqa: E402
from prometheus_client import Counter, Gauge, Histogram, values  # noqa: E402
from prometheus_client import generate_latest as generate_latest  # noqa: E402
from prometheus_client.core import GaugeMetricFamily as GaugeMetricFamily  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector as MultiProcessCollector  # noqa: E402
from prometheus_client.registry import Collector as Collector  # noqa: E402

if not getattr(values.ValueClass, "_multiprocess", False):  # pragma: no cover
    raise RuntimeError("prometheus_client was imported before stitch.metrics set its directory")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_SOURCES = {"stripe", "standard", "typeform", "calendly", "generic"}

HTTP_REQUESTS = Counter(
    "stitch_http_requests_total",
    "HTTP requests answered, by method, route (the URL pattern) and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "stitch_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "stitch_webhook_deliveries_total",
    "Inbound webhook deliveries by source and outcome (accepted, duplicate, refused, "
    "invalid, too_large, inactive, unknown_endpoint).",
    ["source", "outcome"],
)
WEBHOOK_EVENTS_PROCESSED = Counter(
    "stitch_webhook_events_processed_total",
    "Webhook events processed by the background job, by source and outcome.",
    ["source", "outcome"],
)
DISPATCHES = Counter(
    "stitch_dispatches_total",
    "Worker dispatches by outcome (accepted: awaiting its callback; completed/failed: "
    "answered at once; retried; gave_up: transient failures past the node's retries).",
    ["outcome"],
)
DISPATCH_DURATION = Histogram(
    "stitch_dispatch_duration_seconds",
    "Time a dispatch took (HTTP call or built-in worker), by outcome.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
CALLBACKS = Counter(
    "stitch_callbacks_total",
    "Worker callbacks by result (applied, unchanged, ignored, conflict, forbidden, "
    "not_found, invalid).",
    ["result"],
)
NODE_TIMEOUTS = Counter(
    "stitch_node_callback_timeouts_total",
    "Running nodes failed because their callback did not arrive in time.",
)
WEBSOCKET_CONNECTIONS = Gauge(
    "stitch_websocket_connections",
    "Open websocket connections (summed over live processes).",
    multiprocess_mode="livesum",
)
WEBSOCKET_OPENED = Counter(
    "stitch_websocket_connections_opened_total",
    "Websocket connections accepted for a canvas.",
)
WEBSOCKET_SLOW_CLOSED = Counter(
    "stitch_websocket_slow_subscribers_closed_total",
    "Websocket subscribers closed (4408) because they could not keep up.",
)


def _method(method: str | None) -> str:
    return method if method in _METHODS else "other"


def source_label(source: str | None) -> str:
    """Config sources are free text; anything unknown counts as `generic` (the scheme
    it is verified with), so an odd name cannot create a new series."""
    if source is None:
        return "none"
    return source if source in _SOURCES else "generic"


# `labels()` validates and locks on every call; each series is looked up once per label
# set instead (label values are closed sets, so this stays small).
_series_cache: dict[tuple[Any, ...], Any] = {}


def _series(metric: Any, *labels: str) -> Any:
    key = (metric, *labels)
    series = _series_cache.get(key)
    if series is None:
        series = _series_cache[key] = metric.labels(*labels)
    return series


def record_request(*, method: str | None, route: str, status: int, seconds: float) -> None:
    label = _method(method)
    _series(HTTP_REQUESTS, label, route, str(status)).inc()
    _series(HTTP_DURATION, label, route).observe(seconds)


def record_webhook_delivery(*, source: str | None, outcome: str) -> None:
    _series(WEBHOOK_DELIVERIES, source_label(source), outcome).inc()


def record_webhook_processed(*, source: str | None, outcome: str) -> None:
    _series(WEBHOOK_EVENTS_PROCESSED, source_label(source), outcome).inc()


def record_dispatch(*, outcome: str, seconds: float) -> None:
    _series(DISPATCHES, outcome).inc()
    _series(DISPATCH_DURATION, outcome).observe(seconds)


def record_callback(result: str) -> None:
    _series(CALLBACKS, result).inc()


def record_node_timeouts(count: int) -> None:
    if count:
        NODE_TIMEOUTS.inc(count)


def record_websocket_opened() -> None:
    WEBSOCKET_OPENED.inc()
    WEBSOCKET_CONNECTIONS.inc()


def record_websocket_closed() -> None:
    WEBSOCKET_CONNECTIONS.dec()


def record_slow_subscriber_closed() -> None:
    WEBSOCKET_SLOW_CLOSED.inc()
