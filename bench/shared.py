"""Helpers of the benches that own a database (analytics, inbox)."""

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
