"""Endpoint slugs: the part of `/api/webhooks/{endpoint_slug}/` that finds a config.

A webhook URL is a capability (for a config without a secret it is the only one), and
slugs are global: a slug chosen outright could be guessed, and refusing one already
taken would tell a stranger that it exists. So a slug made through the API is always
unguessable: generated when none is given, and a chosen name becomes only its readable
start, followed by a random part.
"""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
GENERATED_LENGTH = 24  # about 143 bits
SUFFIX_LENGTH = 16  # about 95 bits after a chosen name
MAX_LENGTH = 100
CHOSEN_MAX_LENGTH = MAX_LENGTH - 1 - SUFFIX_LENGTH


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def endpoint_slug_generate() -> str:
    return _random(GENERATED_LENGTH)


def endpoint_slug_from(chosen: str) -> str:
    """`chosen` as the readable start of an unguessable slug."""
    return f"{chosen}-{_random(SUFFIX_LENGTH)}"
