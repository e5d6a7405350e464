"""The one reader of client-supplied JSON (SPEC 10): what PostgreSQL can store, or a
clear error naming where the problem is.

Every body that reaches the database goes through here: webhook deliveries, DRF
request bodies (`stitch.parsers.JSONParser`), multipart JSON fields, worker callbacks
and synchronous worker replies. PostgreSQL's jsonb and text refuse what Python's
`json` happily produces, and each refusal used to surface as a 500:

- the NUL character (`\\u0000`) and lone UTF-16 surrogates (`"\\ud800"`);
- numbers out of range: `1e400` parses to `inf`, `NaN`/`Infinity` are Python's
  extension, and an integer of more than 4,300 digits makes `int()` raise;
- nesting: deeper than `MAX_DEPTH` levels is refused (and tens of thousands of levels
  make the C parser raise RecursionError);
- anything but UTF-8 (`json.loads(bytes)` would also accept UTF-16 and UTF-32).

The checks walk the parsed value with an explicit stack (no recursion), and only when
the raw text could hold a problem at all: without a `\\u` escape no string can contain
NUL or a surrogate (raw control characters are invalid JSON and valid UTF-8 holds no
surrogates), and with no more than MAX_DEPTH brackets nothing can be too deep.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 256
# What a body that is not JSON at all is reported as.
BODY = "body"


class JSONDataError(ValueError):
    """JSON that cannot be used; `path` names where (`output.items[3]`, or `body`)."""

    def __init__(self, path: str, message: str):
        self.path = path or BODY
        self.message = message
        super().__init__(f"{self.path}: {message}")

    @property
    def field(self) -> str:
        """The top-level request field at fault (`output` for `output.items[3]`)."""
        head = self.path.split(".", 1)[0]
        return head.split("[", 1)[0] or BODY


class _Refused:
    """Stands in, while parsing, for a number the database cannot store, so that the
    check that follows names where it was (`output.n`) instead of the whole body."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _finite_float(text: str) -> float | _Refused:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Refused(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:  # more than sys.get_int_max_str_digits() digits
        return _Refused(f"integer of {len(text)} digits is out of range")


def _no_constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def loads(raw: bytes | str, *, path: str = "") -> Any:
    """Parse UTF-8 JSON and check it is storable; JSONDataError names the problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONDataError(path, "must be UTF-8 encoded JSON") from exc
    else:
        text = raw
    refused: list[_Refused] = []

    def keep(refusal: _Refused | Any) -> Any:
        if isinstance(refusal, _Refused):
            refused.append(refusal)
        return refusal

    try:
        value = json.loads(
            text,
            parse_constant=lambda name: keep(_no_constant(name)),
            parse_float=lambda number: keep(_finite_float(number)),
            parse_int=lambda number: keep(_bounded_int(number)),
        )
    except RecursionError as exc:
        raise JSONDataError(path, f"nesting deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise JSONDataError(path, f"not valid JSON ({_reason(exc)})") from exc
    could_hold_bad_text = "\\u" in text
    could_be_deep = text.count("[") + text.count("{") > MAX_DEPTH
    if refused or could_hold_bad_text or could_be_deep:
        check(value, path=path)
    return value


def _reason(exc: ValueError) -> str:
    # A hook's error reaches us wrapped in nothing; JSONDecodeError carries a position.
    return str(exc)[:200]


def text_problem(text: str) -> str | None:
    """Why PostgreSQL cannot store this string, or None."""
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone UTF-16 surrogate"
    return None


def problem(value: Any, *, path: str = "") -> JSONDataError | None:
    """The first thing in already-parsed data that PostgreSQL cannot store, or None.

    For values that did not come through `loads` (a worker's synchronous reply, data
    built in code): NUL and lone surrogates in strings and keys, non-finite floats,
    nesting deeper than MAX_DEPTH, values that are not JSON at all.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason:
                return JSONDataError(where, reason)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return JSONDataError(where, "number is out of range (NaN or infinite)")
        elif isinstance(item, _Refused):
            return JSONDataError(where, item.reason)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return JSONDataError(where, f"nesting deeper than {MAX_DEPTH} levels")
            stack.extend(_children(item, where, depth))
        else:
            return JSONDataError(where, f"{type(item).__name__} is not a JSON value")
    return None


def _children(item: dict[Any, Any] | list[Any], where: str, depth: int) -> list[Any]:
    if isinstance(item, list):
        return [(child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item)]
    children = []
    for key, child in item.items():
        if not isinstance(key, str):
            key = str(key)
        child_path = f"{where}.{key}" if where else key
        reason = text_problem(key)
        if reason:
            # Reported as a string at the key's place: the key itself is the problem.
            children.append((key, child_path, depth + 1))
        children.append((child, child_path, depth + 1))
    return children


def check(value: Any, *, path: str = "") -> None:
    """Raise JSONDataError for the first thing PostgreSQL cannot store."""
    found = problem(value, path=path)
    if found is not None:
        raise found
