"""Checks on client-supplied JSON before it reaches PostgreSQL."""

from __future__ import annotations

from typing import Any


def has_nul(value: Any) -> bool:
    """Whether JSON data holds a NUL character, which PostgreSQL's jsonb and text cannot
    store (the insert would fail with a server error instead of a 400)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False
