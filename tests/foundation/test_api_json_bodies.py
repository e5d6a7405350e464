"""Raw JSON bodies the database cannot store are a 400 naming the field on every
endpoint (SPEC 10), read by stitch.parsers.JSONParser before any view code runs."""

from __future__ import annotations

import pytest

from entities.models import Entity
from flows.models import Flow
from tests.factories import CanvasFactory

pytestmark = pytest.mark.django_db


def post_raw(client, path: str, raw: bytes):
    return client.generic("POST", path, raw, content_type="application/json")


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        (b'{"note": "a\\u0000b"}', "NUL"),
        (b'{"note": "\\udfff"}', "surrogate"),
        (b'{"n": 1e400}', "out of range"),
        (b"[" * 300 + b"]" * 300, "nesting"),
        (b"[" * 20_000 + b"]" * 20_000, "nesting"),
    ],
)
def test_entity_metadata_the_database_cannot_store_is_a_400(
    owner_client, owner, metadata: bytes, words: str
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    head = f'{{"canvas_id": "{canvas.pk}", "name": "Ada", "entity_type": "lead", "metadata": '
    response = post_raw(owner_client, "/api/entities/", head.encode() + metadata + b"}")
    assert response.status_code == 400, response.content
    assert words in response.content.decode()
    assert not Entity.objects.exists()


def test_a_graph_with_a_lone_surrogate_is_a_400_naming_graph(owner_client) -> None:
    raw = b'{"name": "w", "graph": {"nodes": [{"id": "\\ud800", "type": "note"}], "edges": []}}'
    response = post_raw(owner_client, "/api/flows/", raw)
    assert response.status_code == 400
    assert "graph" in response.json()
    assert not Flow.objects.exists()


def test_a_utf16_body_is_refused(owner_client) -> None:
    raw = '{"name": "w", "graph": {"nodes": [], "edges": []}}'.encode("utf-16")
    response = post_raw(owner_client, "/api/flows/", raw)
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
