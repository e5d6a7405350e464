"""The directory prometheus-client's multiprocess mode shares between the processes of
one machine (web servers, job workers): each process writes its own mmapped files
there, and a scrape of any web process adds them all up.

It must be emptied when a new set of processes starts, and never while one of them
still runs (its files would vanish from under it). Each process therefore holds a
shared `flock` on `.alive.lock` for its whole life; a starting process that can take
it exclusively knows nobody else is alive and wipes what earlier runs left. Starting
processes queue on `.start.lock` so two of them never both wipe. A process that finds
others alive only drops the live gauges (websocket connections) of processes that have
died: their counters stay, so totals never go backwards.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import IO

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE = re.compile(r"gauge_live\w*_(\d+)\.db")
_held: list[IO[str]] = []  # the `.alive.lock` handle, open until the process exits


def prepare(directory: Path) -> None:
    """Make `directory` this process's metrics directory (before prometheus_client loads)."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(directory)
    with open(directory / ".start.lock", "a") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)  # released when `gate` closes
        alive = open(directory / ".alive.lock", "a")  # noqa: SIM115 (held for life)
        try:
            fcntl.flock(alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _forget_dead(directory)
        else:
            _wipe(directory)
        fcntl.flock(alive, fcntl.LOCK_SH)
        _held.append(alive)


def _wipe(directory: Path) -> None:
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def _forget_dead(directory: Path) -> None:
    # Our own pid too: a dead process may have had it, and its gauge is not ours.
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_GAUGE.fullmatch(path.name)
        if match and (int(match[1]) == os.getpid() or not _alive(int(match[1]))):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
