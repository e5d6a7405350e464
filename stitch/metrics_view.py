"""`GET /metrics` (SPEC 13): Prometheus text format for all processes of this machine.

Counters and histograms come from the multiprocess files (`stitch.metrics`); queue
depths and ages, runs by status and worker heartbeats are read from PostgreSQL at
scrape time, so they are the same whichever process answers (every process of every
machine reports them: aggregate them with `max`, not `sum`).

Protected by METRICS_TOKEN (`Authorization: Bearer ...`) and/or an address allow-list
(METRICS_ALLOWED_ADDRESSES); with neither configured nobody is let in.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from flows.models import RunStatus
from stitch import ops_sql

# Through stitch.metrics: it must set the multiprocess directory before prometheus_client
# is first imported.
from stitch.metrics import (
    CONTENT_TYPE_LATEST,
    Collector,
    CollectorRegistry,
    GaugeMetricFamily,
    MultiProcessCollector,
    generate_latest,
)


class DatabaseCollector(Collector):
    """Gauges read from PostgreSQL when scraped (a few aggregates, no per-row work)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("stitch_database_up", "1 when PostgreSQL answered this scrape.")
        try:
            families = list(_database_families())
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def _database_families() -> Iterator[GaugeMetricFamily]:
    pending, oldest = ops_sql.webhook_backlog()
    events = _gauge(
        "stitch_webhook_events_pending",
        "Accepted webhook events not processed yet (pending or processing).",
    )
    events.add_metric([], pending)
    events_age = _gauge(
        "stitch_webhook_events_oldest_pending_age_seconds",
        "Age of the oldest accepted webhook event not processed yet (0 when none).",
    )
    events_age.add_metric([], oldest or 0.0)
    yield from (events, events_age)
    yield from _job_families(ops_sql.queue_state())
    yield from _worker_families(ops_sql.worker_state())
    runs = _gauge("stitch_runs", "Runs by status.", ["status"])
    # Every status, 0 included: a dashboard or an alert should not see a series vanish.
    counts = {status: 0 for status in RunStatus.values} | ops_sql.runs_by_status()
    for status, count in sorted(counts.items()):
        runs.add_metric([status], count)
    yield runs


def _job_families(state: ops_sql.QueueState) -> Iterator[GaugeMetricFamily]:
    jobs = _gauge("stitch_jobs", "Background jobs by queue and status.", ["queue", "status"])
    for (queue, status), count in sorted(state.jobs.items()):
        jobs.add_metric([queue, status], count)
    due = _gauge("stitch_jobs_due", "Todo jobs whose time has come, by queue.", ["queue"])
    age = _gauge(
        "stitch_jobs_oldest_due_age_seconds",
        "How long the oldest due todo job of each queue has waited.",
        ["queue"],
    )
    for queue, count in sorted(state.due.items()):
        due.add_metric([queue], count)
        age.add_metric([queue], state.oldest_due_seconds.get(queue, 0.0))
    yield from (jobs, due, age)


def _worker_families(state: ops_sql.WorkerState) -> Iterator[GaugeMetricFamily]:
    registered = _gauge("stitch_job_workers", "Job workers registered (procrastinate_workers).")
    registered.add_metric([], state.registered)
    yield registered
    if state.last_heartbeat_seconds is not None:
        age = _gauge(
            "stitch_job_worker_heartbeat_age_seconds",
            "Seconds since the most recent heartbeat of any job worker.",
        )
        age.add_metric([], state.last_heartbeat_seconds)
        yield age


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(settings.METRICS_DIR))
    registry.register(DatabaseCollector())
    return registry


# --- access ----------------------------------------------------------------------------
def _token_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _address_ok(request: HttpRequest) -> bool:
    networks = settings.METRICS_ALLOWED_NETWORKS
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _refusal() -> HttpResponse:
    if settings.METRICS_TOKEN:
        response = JsonResponse({"detail": "A valid bearer token is required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return JsonResponse({"detail": "Metrics are not served to this address."}, status=403)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (_token_ok(request) or _address_ok(request)):
        return _refusal()
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
