"""Cost of the operations layer (issue 14). Bounded: well under a minute.

    DATABASE_URL=postgres://127.0.0.1/stitch DEBUG=true .venv/bin/python bench/ops.py

Prints:
1. the per-request cost of stitch.middleware.RequestContextMiddleware (request id,
   route label, counter + histogram in multiprocess mode): a request built by
   RequestFactory and answered by a trivial view, with and without the middleware
   around it (rounds interleaved, the fastest round of each kept: the machine is
   shared, and noise only ever adds time);
2. the cost of one `record_*` call (what a call site in a hot path adds);
3. the time of one /metrics scrape (multiprocess files + the PostgreSQL gauges) with
   the tables as they are, and of the PostgreSQL part alone.
Other figures: medians of 5 rounds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from stitch import metrics, metrics_view  # noqa: E402
from stitch.middleware import RequestContextMiddleware  # noqa: E402

ROUNDS, REQUESTS, CALLS = 5, 2000, 20000


def per_call(work: Callable[[], object], count: int) -> float:
    """Median seconds per call over ROUNDS rounds of `count` calls."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(count):
            work()
        rounds.append((time.perf_counter() - started) / count)
    return statistics.median(rounds)


def middleware_cost() -> tuple[float, float]:
    factory = RequestFactory()

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    wrapped = RequestContextMiddleware(view)
    bare_rounds, wrapped_rounds = [], []
    for _ in range(ROUNDS * 2):
        for rounds, handler in ((bare_rounds, view), (wrapped_rounds, wrapped)):
            started = time.perf_counter()
            for _ in range(REQUESTS):
                handler(factory.get("/healthz"))
            rounds.append((time.perf_counter() - started) / REQUESTS)
    return min(bare_rounds), min(wrapped_rounds)


def main() -> None:
    bare, with_it = middleware_cost()
    print(f"request + trivial view, bare:            {bare * 1e6:.1f} µs")
    print(f"  inside RequestContextMiddleware:       {with_it * 1e6:.1f} µs")
    print(f"  => the middleware adds:                {(with_it - bare) * 1e6:.1f} µs per request")

    def record() -> None:
        metrics.record_request(method="GET", route="/bench", status=200, seconds=0.01)

    print(f"record_request (counter + histogram): {per_call(record, CALLS) * 1e6:.1f} µs")
    dispatch = per_call(lambda: metrics.record_dispatch(outcome="accepted", seconds=0.1), CALLS)
    print(f"record_dispatch:                      {dispatch * 1e6:.1f} µs")

    registry_scrape = per_call(lambda: metrics_view.generate_latest(metrics_view._registry()), 20)
    database = per_call(lambda: list(metrics_view._database_families()), 20)
    print(f"/metrics scrape: {registry_scrape * 1e3:.1f} ms")
    print(f"  of which the PostgreSQL gauges: {database * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
