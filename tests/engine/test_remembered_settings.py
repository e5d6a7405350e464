"""SPEC 12: after `make run`, `manage.py` commands work in that checkout with no extra
environment: the demo's settings are remembered under var/ (stitch.remembered)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from stitch import remembered
from tests.entities.live_servers import ROOT, database_url

PYTHON = str(ROOT / ".venv/bin/python")


def bare_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """What a shell with nothing exported gives a command (plus where var/ is)."""
    return {"PATH": os.environ["PATH"], "STITCH_VAR_DIR": str(var_dir), **extra}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def shown(var_dir: Path, **extra: str) -> list[str]:
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'stitch.settings');"
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SECRET_KEY, ','.join(s.WORKER_SECRETS), s.DATABASES['default']['NAME'])"
    )
    result = run([PYTHON, "-c", code], bare_env(var_dir, **extra))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def demo_var(tmp_path: Path, django_db_setup: None) -> Path:
    """A var/ dir as the first `make run` leaves it (given a DATABASE_URL)."""
    env = bare_env(tmp_path, DEBUG="true", PORT="8123", DATABASE_URL=database_url())
    result = run([PYTHON, "-m", "stitch.remembered"], env)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_make_run_remembers_the_demo_settings_with_generated_secrets(demo_var: Path) -> None:
    path = demo_var / remembered.FILENAME
    values = remembered.read(path)
    assert values["DEBUG"] == "true"
    assert values["PORT"] == "8123"
    assert values["DATABASE_URL"] == database_url()
    assert len(values["SECRET_KEY"]) >= 50
    assert len(values["WORKER_SECRETS"]) >= 32
    assert values["WORKER_SECRETS"] != values["SECRET_KEY"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_second_make_run_keeps_the_same_secrets(demo_var: Path) -> None:
    first = remembered.read(demo_var / remembered.FILENAME)
    result = run([PYTHON, "-m", "stitch.remembered"], bare_env(demo_var, DEBUG="true"))
    assert result.returncode == 0, result.stderr
    assert remembered.read(demo_var / remembered.FILENAME) == first


def test_manage_py_check_works_with_no_environment(demo_var: Path) -> None:
    result = run([PYTHON, "manage.py", "check"], bare_env(demo_var))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_commands_read_the_remembered_settings(demo_var: Path) -> None:
    values = remembered.read(demo_var / remembered.FILENAME)
    debug, secret_key, worker_secrets, db_name = shown(demo_var)
    assert (debug, secret_key, worker_secrets) == (
        "True",
        values["SECRET_KEY"],
        values["WORKER_SECRETS"],
    )
    assert db_name == database_url().rsplit("/", 1)[1]


def test_the_environment_wins_over_the_remembered_settings(demo_var: Path) -> None:
    _debug, secret_key, worker_secrets, _db = shown(
        demo_var, SECRET_KEY="from-the-environment-" + "e" * 30, WORKER_SECRETS="env-" + "v" * 32
    )
    assert secret_key == "from-the-environment-" + "e" * 30
    assert worker_secrets == "env-" + "v" * 32


def test_production_never_reads_the_demo_settings(demo_var: Path) -> None:
    result = run([PYTHON, "manage.py", "check"], bare_env(demo_var, DEBUG="false"))
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
