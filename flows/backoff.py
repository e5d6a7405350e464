"""How long a failed dispatch waits before its next try (SPEC 5).

Exponential backoff with a cap and jitter: try n (0-based) waits a random time between
half and all of `min(cap, base * 2**n)`, so the thousand instances of a fan-out that
all hit a 429 at once come back spread over a window instead of all together. A
`Retry-After` header (seconds or an HTTP date) sets the wait instead, capped, plus a
spread of up to a tenth of it (RFC 9110 asks to wait *at least* that long).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Spread added to a Retry-After wait: a tenth of it, at most this many seconds.
RETRY_AFTER_SPREAD_MAX = 30.0
_RANDOM = random.Random()


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """The wait before try `attempt + 1`: "equal jitter" over the capped exponential."""
    rng = rng or _RANDOM
    ceiling = min(cap, base * 2 ** min(attempt, 62))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after_wait(seconds: float, *, cap: float, rng: random.Random | None = None) -> float:
    """The wait a server asked for, capped, plus a little spread."""
    rng = rng or _RANDOM
    wait = min(max(seconds, 0.0), cap)
    return wait + rng.uniform(0, min(wait / 10, RETRY_AFTER_SPREAD_MAX))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delay-seconds or an HTTP date; None when
    absent or unreadable (then the usual backoff applies)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or an obsolete zone: HTTP dates are in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
