"""Crafted JSON values (issue 10): each parses somewhere and used to break something after
(a 500). Kept as raw JSON text, since several cannot come out of `json.dumps` at all."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SLOT = "\u2063crafted\u2063"  # placeholder string, replaced by the raw crafted text


@dataclass(frozen=True)
class Crafted:
    raw: str
    # Words one of which the refusal must contain: it names the problem.
    words: tuple[str, ...]


CRAFTED = {
    "number-out-of-range": Crafted("1e400", ("out of range",)),
    # Python reads at most 4,300 digits (sys.get_int_max_str_digits); jsonb stores these.
    "5000-digit-integer": Crafted("9" * 5000, ("out of range",)),
    "lone-surrogate": Crafted('"\\ud800"', ("surrogate",)),
    "nul": Crafted('"\\u0000"', ("NUL",)),
    "nul-under-600-levels": Crafted("[" * 600 + '"\\u0000"' + "]" * 600, ("NUL", "nesting")),
    "20000-levels": Crafted("[" * 20000 + "]" * 20000, ("nesting",)),
}


def with_crafted(template: Any, crafted: Crafted) -> bytes:
    """`template` as JSON with every SLOT replaced by the crafted value's raw text."""
    text = json.dumps(template)
    slot = json.dumps(SLOT)
    assert slot in text, "the template has no SLOT"
    return text.replace(slot, crafted.raw).encode()
