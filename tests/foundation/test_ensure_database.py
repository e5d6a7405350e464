"""`manage.py ensure_database` creates the configured database once."""

from __future__ import annotations

import io
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from psycopg.conninfo import make_conninfo


def _exists(name: str, conninfo: dict[str, str]) -> bool:
    with psycopg.connect(make_conninfo(dbname="postgres", **conninfo), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None


def test_it_creates_a_missing_database_and_then_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = dict(settings.DATABASES["default"])
    name = f"stitch_ensure_{uuid.uuid4().hex[:8]}"
    conninfo = {k: v for k, v in (("host", db["HOST"]), ("port", db["PORT"])) if v}
    conninfo |= {k: v for k, v in (("user", db["USER"]), ("password", db["PASSWORD"])) if v}
    monkeypatch.setitem(settings.DATABASES, "default", {**db, "NAME": name})
    try:
        first, second = io.StringIO(), io.StringIO()
        call_command("ensure_database", stdout=first)
        call_command("ensure_database", stdout=second)
        assert f"Created database {name}" in first.getvalue()
        assert second.getvalue() == ""
        assert _exists(name, conninfo)
    finally:
        with psycopg.connect(make_conninfo(dbname="postgres", **conninfo), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
