"""The demo's remembered settings (SPEC 12): `var/settings.env`.

`make run` calls `python -m stitch.remembered` first. It writes (or completes) the
file with what the demo runs with: `DEBUG`, a generated `SECRET_KEY` and
`WORKER_SECRETS`, and the `DATABASE_URL`, `PORT`, `PUBLIC_BASE_URL` and `REDIS_URL`
it was given, if any. Settings read the file below the environment, so afterwards a
plain `.venv/bin/python manage.py <command>` in that checkout needs no environment.

The environment always wins over the file, and a process whose environment says
`DEBUG=false` never reads it: production settings come from the environment only.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

FILENAME = "settings.env"
# Generated once, when neither the environment nor the file has one.
_GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "WORKER_SECRETS": lambda: secrets.token_urlsafe(48),
}
# Taken from the environment of `make run` whenever it gives them.
_PASSED_ON = ("DEBUG", "DATABASE_URL", "PORT", "PUBLIC_BASE_URL", "REDIS_URL")


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`STITCH_VAR_DIR`, else `var/` at the top of the checkout."""
    return Path(environ.get("STITCH_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")


def read(path: Path) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments ignored); {} without the file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def ensure(path: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Write the demo's settings to `path`, keeping what it holds, generating secrets
    it lacks; returns them."""
    values = read(path)
    before = dict(values)
    values.setdefault("DEBUG", "true")
    for name in _PASSED_ON:
        if environ.get(name):
            values[name] = environ[name]
    for name, generate in _GENERATED.items():
        if environ.get(name):
            values[name] = environ[name]
        values.setdefault(name, generate())
    if values != before:
        _write(path, values)
    return values


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    header = "# Remembered by `make run` (stitch/remembered.py); the environment wins.\n"
    # Created private: it holds the demo's secrets.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(header + "".join(f"{name}={value}\n" for name, value in values.items()))
    os.replace(partial, path)


def main() -> None:
    path = var_dir() / FILENAME
    ensure(path)
    sys.stdout.write(f"demo settings remembered in {path}\n")


if __name__ == "__main__":
    main()
