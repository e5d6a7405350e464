"""Helpers of the benches (databases, timing, vacuuming between passes)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def ensure_database(url: str) -> None:
    """Create the database named by `url` when it does not exist yet."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def median_ms(call: Callable[[], Any], runs: int) -> float:
    """The median wall time of `runs` calls, in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def vacuum(url: str | None = None) -> str:
    """VACUUM ANALYZE the bench's database before a pass, as bench/ceiling.py does before
    each of its own; returns the server's `autovacuum` setting, for the bench to print.

    With autovacuum off (this machine's CI configuration sets it so, conf.d/90-ci.conf)
    nothing reclaims the dead rows a pass leaves, above all the job queue's: after a
    few runs procrastinate_jobs held 1.1M dead rows, and claiming a job walked them in
    the priority index, 6.6 ms instead of 0.06 ms. Each pass would start from a worse
    table than the last, and than the ceiling's.
    """
    import os

    import psycopg

    with psycopg.connect(url or os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row else "unknown"
