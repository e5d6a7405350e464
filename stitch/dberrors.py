"""Which database errors pass with time, and which say the data itself is refused.

psycopg files very different failures under OperationalError: a dropped connection or a
deadlock (try again and it works), but also "index row size exceeds maximum" (SQLSTATE
54000, program limit exceeded: the same row fails every time). Treating all of them as
"the database is away" retries a poison event forever, so the SQLSTATE class decides.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# SQLSTATE classes that describe the moment, not the data: connection exceptions (08),
# transaction rollbacks such as deadlocks and serialization failures (40), insufficient
# resources (53), operator intervention such as a shutdown or a statement timeout (57),
# system errors such as I/O (58).
TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django keeps psycopg's error as the cause)."""
    for candidate in (exc, exc.__cause__):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


def is_transient(exc: BaseException) -> bool:
    """True when trying again later may succeed (the database is away or busy)."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or unusable
    if not isinstance(exc, OperationalError):
        return False  # data, integrity and programming errors stay what they are
    code = sqlstate(exc)
    # No SQLSTATE at all: the client lost the server (refused, reset, timed out).
    return code is None or code[:2] in TRANSIENT_CLASSES


def first_line(exc: BaseException) -> str:
    """The server's primary message, without DETAIL/HINT lines."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
