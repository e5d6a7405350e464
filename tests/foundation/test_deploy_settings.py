"""Production settings (SPEC 12): with DEBUG=false and an https:// PUBLIC_BASE_URL,
`manage.py check --deploy` reports nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.entities.live_servers import database_url

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k7Qx-2vN_p9LrT4wZ8sY1mB6cF3hJ0dG5aE-uKoPiRlSnVbXyWqTzHgMjCeDfA"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "stitch.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production(**env: str) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_KEY,
        "WORKER_SECRETS": "w3Rk-" + STRONG_KEY[::-1],
        "DATABASE_URL": database_url(),
        "PUBLIC_BASE_URL": "https://stitch.example.com",
        **env,
    }


def test_check_deploy_is_clean_with_an_https_base_url(db) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_still_warns_for_plain_http(db) -> None:
    """The check is real: without HTTPS the same command has plenty to say."""
    env = production(PUBLIC_BASE_URL="http://stitch.example.com")
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


def settings_in_subprocess(names: list[str], **env: str) -> dict[str, str]:
    code = "from django.conf import settings\n" + "".join(
        f"print({name!r}, repr(settings.{name}))\n" for name in names
    )
    result = manage("shell", "-c", code, **production(**env))
    assert result.returncode == 0, result.stderr
    pairs = [line.split(" ", 1) for line in result.stdout.splitlines()]
    return {pair[0]: pair[1] for pair in pairs if pair[0] in names}


def test_https_base_url_turns_on_secure_cookies_hsts_and_the_redirect(db) -> None:
    names = ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]
    names += ["SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS", "ALLOWED_HOSTS"]
    values = settings_in_subprocess(names)
    assert values["SECURE_SSL_REDIRECT"] == values["SESSION_COOKIE_SECURE"] == "True"
    assert values["CSRF_COOKIE_SECURE"] == "True"
    assert int(values["SECURE_HSTS_SECONDS"]) >= 31_536_000
    assert "'https://stitch.example.com'" in values["CSRF_TRUSTED_ORIGINS"]
    assert "'stitch.example.com'" in values["ALLOWED_HOSTS"]


def test_the_proxy_header_is_configurable(db) -> None:
    values = settings_in_subprocess(
        ["SECURE_PROXY_SSL_HEADER"], SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == "('HTTP_X_FORWARDED_PROTO', 'https')"
