"""The worker secret (SPEC 5): its own setting, required in production, never
SECRET_KEY, several for rotation. Each case imports the product's settings in a fresh
process, as a deployment would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 50
GOOD_SECRET = "w" * 40


def settings_of(*, expression: str = "s.WORKER_SECRETS", **env: str):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "WORKER_SECRETS", "WORKER_SECRETS_FILE"}
    }
    clean.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", **env)
    code = f"import stitch.settings as s; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_worker_secret() -> None:
    result = settings_of(DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "WORKER_SECRETS is required" in result.stderr


def test_the_worker_secret_is_never_the_secret_key() -> None:
    result = settings_of(
        DEBUG="false", SECRET_KEY=GOOD_KEY, WORKER_SECRETS=f"{GOOD_SECRET},{GOOD_KEY}"
    )
    assert result.returncode != 0
    assert "must not contain SECRET_KEY" in result.stderr


def test_a_short_worker_secret_is_refused_in_production() -> None:
    result = settings_of(DEBUG="false", SECRET_KEY=GOOD_KEY, WORKER_SECRETS="short")
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_several_secrets_are_read_in_order_from_the_variable_or_a_file(tmp_path: Path) -> None:
    result = settings_of(
        DEBUG="false", SECRET_KEY=GOOD_KEY, WORKER_SECRETS=f"{'a' * 32}, {'b' * 32}"
    )
    assert result.stdout.strip() == repr(["a" * 32, "b" * 32]), result.stderr
    secrets_file = tmp_path / "worker-secrets"
    secrets_file.write_text(f"{'c' * 32}\n{'d' * 32}\n")
    result = settings_of(DEBUG="false", SECRET_KEY=GOOD_KEY, WORKER_SECRETS_FILE=str(secrets_file))
    assert result.stdout.strip() == repr(["c" * 32, "d" * 32]), result.stderr


def test_the_old_single_secret_variable_is_refused_with_its_new_name() -> None:
    result = settings_of(DEBUG="true", WORKER_SIGNING_SECRET=GOOD_SECRET)
    assert result.returncode != 0
    assert "WORKER_SIGNING_SECRET is now WORKER_SECRETS" in result.stderr
