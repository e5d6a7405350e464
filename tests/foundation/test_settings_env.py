"""Settings helpers fail loudly on bad values instead of falling back silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from stitch.database import parse_database_url
from stitch.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_booleans_accept_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("true", True), ("1", True), ("ON", True), ("no", False), ("", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG") is expected
    monkeypatch.delenv("X_FLAG")
    assert env_bool("X_FLAG", True) is True


def test_a_bad_boolean_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_a_bad_integer_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "12abc")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "-5")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be >= 0"):
        env_int("X_NUM", 1, minimum=0)
    monkeypatch.setenv("X_NUM", "7")
    assert env_int("X_NUM", 1, minimum=0) == 7


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LIST", " a.example, b.example ,,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


def test_a_secret_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "s3cr3t"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_SECRET_FILE"):
        env_str("X_SECRET")


def test_database_urls_are_parsed_and_others_refused() -> None:
    db = parse_database_url("postgres://u:p%40ss@db.internal:6543/stitch?sslmode=require")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u",
        "p@ss",
        "db.internal",
        "6543",
        "stitch",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ImproperlyConfigured, match="postgres"):
        parse_database_url("mysql://u@h/db")
    with pytest.raises(ImproperlyConfigured, match="name a database"):
        parse_database_url("postgres://u@h/")


def _settings_import(**env: str) -> subprocess.CompletedProcess[str]:
    unset = {"DEBUG", "SECRET_KEY", "WORKER_SECRETS"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", **env)
    return subprocess.run(
        [sys.executable, "-c", "import stitch.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    result = _settings_import(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    production = {"SECRET_KEY": "x" * 50, "WORKER_SECRETS": "w" * 40}
    assert _settings_import(DEBUG="false", **production).returncode == 0


def test_a_typo_in_a_setting_stops_start_up() -> None:
    result = _settings_import(DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
    result = _settings_import(DEBUG="true", API_PAGE_SIZE="fifty")
    assert "API_PAGE_SIZE must be an integer" in result.stderr


def test_a_bad_number_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from stitch.env import env_float

    monkeypatch.setenv("X_SECONDS", "1.5")
    assert env_float("X_SECONDS", 2.0) == 1.5
    for bad in ("two", "nan", "-1"):
        monkeypatch.setenv("X_SECONDS", bad)
        with pytest.raises(ImproperlyConfigured, match="X_SECONDS"):
            env_float("X_SECONDS", 2.0, minimum=0)
