"""OpenAPI schema and docs UI render; /healthz needs no database, /readyz checks it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


@pytest.mark.django_db
def test_the_schema_lists_every_resource_and_is_valid_openapi(anon_client: Any) -> None:
    response = anon_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    for path in (
        "/api/flows/",
        "/api/flows/{flow_id}/versions/",
        "/api/runs/",
        "/api/entities/",
        "/api/journey-events/",
        "/api/webhook-configs/",
        "/api/webhook-events/",
        "/api/media/",
        "/api/auth/token/",
    ):
        assert path in schema["paths"], path


# Files whose schema is this area's; other areas check their own views.
FOUNDATION_FILES = ("flows/views.py", "flows/serializers.py", "entities/views.py", "stitch/")


def test_schema_generation_has_no_warnings_for_the_foundation_views() -> None:
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    ours = [m for m in messages if any(name in m for name in FOUNDATION_FILES)]
    assert ours == []


@pytest.mark.django_db
def test_the_docs_page_renders(anon_client: Any) -> None:
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content
    # Assets come from this server, not a CDN.
    assert b"cdn.jsdelivr.net" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


def test_healthz_answers_without_touching_the_database() -> None:
    # No django_db mark: any query here would raise.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(settings: Any) -> None:
    settings.READYZ_WORKER_MAX_SILENCE_SECONDS = 0  # no job worker runs here (tests/ops)
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.utils import OperationalError

    def broken_cursor(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
