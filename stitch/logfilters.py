"""Logging filters: secrets never reach the logs."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"([?&](?:token|access_token)=)[^&\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    return _TOKEN.sub(r"\1[redacted]", text)


class RedactQueryTokens(logging.Filter):
    """Replace `?token=...` values in a record's message and arguments.

    uvicorn's access log ("uvicorn.access") and its websocket lines ("uvicorn.error")
    print the path with its query string; a websocket authenticated by `?token=` would
    write the API token into every log line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's loggers (a logger's filters survive the handlers
    uvicorn's own logging config sets up)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryTokens) for f in logger.filters):
            logger.addFilter(RedactQueryTokens())
