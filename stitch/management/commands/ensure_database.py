"""`manage.py ensure_database`: create the database DATABASE_URL names if it is missing,
so `make run` works against a fresh PostgreSQL server with nothing but a URL."""

from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database when it does not exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        params = {
            "host": db["HOST"] or None,
            "port": db["PORT"] or None,
            "user": db["USER"] or None,
            "password": db["PASSWORD"] or None,
            # "pool" configures Django's connection pool, not a libpq option.
            **{k: v for k, v in db.get("OPTIONS", {}).items() if k != "pool"},
        }
        params = {key: value for key, value in params.items() if value is not None}
        try:
            # The maintenance database exists on every server; CREATE DATABASE
            # cannot run inside a transaction, hence autocommit.
            with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
                found = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
                ).fetchone()
                if found:
                    return
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
        except psycopg.Error as exc:
            raise CommandError(f"cannot reach or create database {db['NAME']!r}: {exc}") from exc
        self.stdout.write(f"Created database {db['NAME']}.")
