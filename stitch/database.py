"""Database settings: DATABASE_URL, or an embedded PostgreSQL kept under var/."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured


def parse_database_url(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "postgresql+psycopg"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// URL (PostgreSQL is the only database), got {url!r}"
        )
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://host/stitch")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = unquote(parsed.hostname or "") or query.pop("host", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": query,
    }


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) a pgserver-managed PostgreSQL under ``data_dir``.

    pgserver ships PostgreSQL binaries in its wheel and keeps the server running
    across processes that share the data directory, so the demo needs no setup.
    """
    import logging
    import warnings

    # pgserver logs every process exit at INFO and platformdirs warns about a missing
    # XDG_RUNTIME_DIR (it falls back to /tmp): noise on every manage.py call.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported lazily: only the zero-config demo needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    server.psql("SELECT 1")
    db = "stitch"
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {db}")
    return str(server.get_uri(db))
