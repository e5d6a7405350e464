"""JSONPath for workflows (SPEC 4): the one reader of Splitter `arrayPath`s and edge
mappings, used by graph validation (does it parse?) and by the engine (what does it
yield?).

The shape of a result depends on the path, never on the data: a path that can match
several values (`[*]`, `..`, filters, slices, unions) always yields the list of its
matches, even of one or of none; a path naming a single value yields that value, or
None when it is absent. jsonpath-ng itself only returns matches, so without this rule
`$.items[*]` over a one-element array would look like the element itself.

The extended grammar (`jsonpath_ng.ext`) is used, so filters such as
`$.items[?(@.qty > 1)]` work. A path not starting with `$` is a dot path (`a.b`).
"""

from __future__ import annotations

import functools
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.ext import parse
from jsonpath_ng.ext.iterable import Len
from jsonpath_ng.jsonpath import Child, Fields, Index, Parent, Root, This


class PathError(ValueError):
    """A path that does not parse."""


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> JSONPath:
    """Parse once per distinct path (parsing costs far more than evaluating)."""
    text = path.strip()
    if not text:
        raise PathError("empty path")
    if not text.startswith("$"):
        text = "$." + text
    try:
        return parse(text)
    # Broad on purpose: besides JsonPathParserError, the ply-based lexer raises bare
    # Exceptions for characters it does not know.
    except Exception as exc:
        raise PathError(f"invalid path {path!r}: {exc}") from exc


def path_problem(path: Any) -> str | None:
    """Why `path` cannot be used, or None."""
    if not isinstance(path, str):
        return f"path must be a string, not {type(path).__name__}"
    try:
        compile_path(path)
    except PathError as exc:
        return str(exc)
    return None


def is_multiple(expression: JSONPath) -> bool:
    """Whether the path can match several values (decided on the path alone)."""
    if isinstance(expression, Child):
        return is_multiple(expression.left) or is_multiple(expression.right)
    if isinstance(expression, Fields):
        return len(expression.fields) != 1 or expression.fields[0] == "*"
    if isinstance(expression, Index):
        return len(expression.indices) != 1
    # Everything else (wildcards, slices, descendants, filters, unions, sorting,
    # arithmetic) may match any number of values.
    return not isinstance(expression, Root | This | Parent | Len)


def path_value(path: str, data: Any) -> Any:
    """What `path` yields on `data` (SPEC 4): the list of matches for a path that can
    match several, else the single value (None when absent). Raises PathError."""
    expression = compile_path(path)
    try:
        matches = [match.value for match in expression.find(data)]
    except Exception as exc:  # a filter comparing values of different types, say
        raise PathError(f"path {path!r} cannot be evaluated here: {exc}") from exc
    if is_multiple(expression):
        return matches
    return matches[0] if matches else None
