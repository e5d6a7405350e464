"""Repeated failed logins are answered 429 with Retry-After (SPEC 10): the token
endpoint, the sign-in page and the admin login; counted in PostgreSQL, so the limit
holds across server processes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.entities.live_servers import (
    child_env,
    free_port,
    processes,
    server_user,
    uvicorn_command,
    wait_until_serving,
)
from tests.factories import UserFactory

WRONG = {"username": "owner", "password": "wrong"}
RIGHT = {"username": "owner", "password": "pw-for-tests"}


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content[:300]
    assert int(response["Retry-After"]) == settings.LOGIN_LOCKOUT_SECONDS


@pytest.mark.django_db
def test_the_token_endpoint_locks_out_after_repeated_failures(owner, anon_client) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert anon_client.post("/api/auth/token/", WRONG, format="json").status_code == 400
    locked = anon_client.post("/api/auth/token/", WRONG, format="json")
    assert_throttled(locked)
    assert "Too many failed logins" in locked.json()["detail"]
    # Even the right password waits now, and no token is handed out.
    right = anon_client.post("/api/auth/token/", RIGHT, format="json")
    assert_throttled(right)
    assert "token" not in right.json()


@pytest.mark.django_db
def test_another_username_from_the_same_client_is_not_locked_out(owner, anon_client) -> None:
    UserFactory.create(username="colleague")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        anon_client.post("/api/auth/token/", WRONG, format="json")
    colleague = {"username": "colleague", "password": "pw-for-tests"}
    assert anon_client.post("/api/auth/token/", colleague, format="json").status_code == 200


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(owner, anon_client) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        anon_client.post("/api/auth/token/", WRONG, format="json")
    assert anon_client.post("/api/auth/token/", RIGHT, format="json").status_code == 200
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert anon_client.post("/api/auth/token/", WRONG, format="json").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_lock_out_after_repeated_failures(owner, url: str) -> None:
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    browser = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert browser.post(url, WRONG).status_code == 200  # the form again, with an error
    locked = browser.post(url, WRONG)
    assert_throttled(locked)
    assert b"Too many failed logins" in locked.content
    assert_throttled(browser.post(url, RIGHT))
    assert "_auth_user_id" not in browser.session


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_across_two_server_processes(tmp_path: Path) -> None:
    server_user("owner")
    ports = [free_port(), free_port()]
    with processes([uvicorn_command(port) for port in ports], child_env(), tmp_path / "logs"):
        for port in ports:
            wait_until_serving(port)
        urls = [f"http://127.0.0.1:{port}/api/auth/token/" for port in ports]
        answers = [
            httpx.post(urls[attempt % 2], json=WRONG, timeout=30).status_code
            for attempt in range(settings.LOGIN_FAILURE_LIMIT)
        ]
        # Failures alternate between the processes, yet the count is one.
        assert answers == [400] * (settings.LOGIN_FAILURE_LIMIT - 1) + [429]
        for url in urls:
            response = httpx.post(url, json=RIGHT, timeout=30)
            assert response.status_code == 429
            assert response.headers["Retry-After"] == str(settings.LOGIN_LOCKOUT_SECONDS)


@pytest.mark.django_db
def test_api_client_fixture_logins_are_not_throttled(owner) -> None:
    """Tokens and sessions already held are not logins: no lock-out applies to them."""
    client = APIClient()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/api/auth/token/", WRONG, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {owner.auth_token.key}")
    assert client.get("/api/flows/").status_code == 200
