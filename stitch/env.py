"""Typed readers for settings taken from the environment.

Each helper raises ImproperlyConfigured on a value it cannot parse, so a typo in
a deployment fails at start-up instead of silently falling back to a default.
A variable named ``X_FILE`` is read from that file (for secrets mounted as files).
Below the environment lie the demo's remembered settings (`remember`, SPEC 12).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

N = TypeVar("N", int, float)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Values used when the environment has none (stitch.remembered).
_remembered: dict[str, str] = {}


def remember(values: dict[str, str]) -> None:
    """Use `values` for variables the environment does not set."""
    _remembered.clear()
    _remembered.update(values)


def _raw(name: str) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc}") from exc
    value = os.environ.get(name)
    return _remembered.get(name) if value is None else value


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {value!r}")


def _number(name: str, default: N, parse: Callable[[str], N], kind: str, minimum: N | None) -> N:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = parse(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {value!r}") from exc
    if number != number:  # NaN compares false with everything, so no minimum catches it
        raise ImproperlyConfigured(f"{name} must be {kind}, got {value!r}")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value!r}")
    return number


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _number(name, default, float, "a number", minimum)


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (_raw(name) or "").strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_secrets(name: str) -> list[str]:
    """Several secrets in one variable, separated by commas or whitespace (a `_FILE`
    may hold one a line); empty when unset."""
    value = _raw(name) or ""
    return [item for item in value.replace(",", " ").split() if item]
