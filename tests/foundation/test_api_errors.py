"""Errors under /api/ are JSON for clients, never HTML pages or stack traces."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from stitch.api import exception_handler

pytestmark = pytest.mark.django_db


def test_an_unknown_api_url_is_a_json_404(owner_client: Any, anon_client: Any) -> None:
    for client in (owner_client, anon_client):
        for method in ("get", "post", "delete"):
            response = getattr(client, method)("/api/no-such-thing/")
            assert response.status_code == 404, method
            assert response.json() == {"detail": "Not found."}


def test_a_missing_trailing_slash_redirects_keeping_the_method(owner_client: Any) -> None:
    response = owner_client.post("/api/flows?x=1", {"name": "x"}, format="json")
    assert response.status_code == 308
    assert response["Location"] == "/api/flows/?x=1"


def test_a_wrong_method_is_a_json_405(owner_client: Any) -> None:
    response = owner_client.put("/api/flows/", {}, format="json")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_malformed_json_is_a_400(owner_client: Any) -> None:
    response = owner_client.post("/api/flows/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    # The one JSON reader (stitch.jsondata) names the part at fault: the whole body here.
    assert "not valid JSON" in response.json()["body"][0]


def test_an_unexpected_error_is_a_plain_500_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, owner: Any
) -> None:
    from flows import views

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals at /srv/app.py line 3")

    monkeypatch.setattr(views.FlowViewSet, "get_queryset", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(owner)
    response = client.get("/api/flows/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


def test_a_protected_row_is_a_409_not_a_500() -> None:
    from django.db.models import ProtectedError

    response = exception_handler(ProtectedError("in use", set()), {})
    assert response is not None
    assert response.status_code == 409
