"""Entity mapping (SPEC 7.5): JSONPath expressions that pick entity fields from a payload.

A mapping value starting with `$` is a JSONPath, read by the workflows' one reader
(flows.jsonpath: jsonpath-ng's extended grammar, so filters such as
`$.items[?(@.primary)].email` work, and SPEC 4's rule that a path which can match
several values always yields a list); anything else is a literal. The `metadata` key
holds a nested map of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.jsonpath import PathError, path_problem, path_value

ENTITY_FIELDS = ("name", "email", "entity_type", "avatar_url")
REQUIRED_FIELDS = ("name", "entity_type")


class MappingError(ValueError):
    """A mapping that cannot be used; `key` is its dotted key (`metadata.plan`)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$")


def _check_value(key: str, value: Any) -> None:
    if isinstance(value, dict):
        for sub_key, sub_value in value.items():
            _check_value(f"{key}.{sub_key}", sub_value)
        return
    problem = path_problem(value) if _is_path(value) else None
    if problem:
        raise MappingError(key, f"cannot parse JSONPath {value!r} ({problem})")


def mapping_check(mapping: Any) -> None:
    """Raise MappingError for the first key of `mapping` that cannot be used."""
    if not isinstance(mapping, dict):
        raise MappingError("entity_mapping", "must be an object")
    for key, value in mapping.items():
        if key == "metadata":
            if not isinstance(value, dict):
                raise MappingError("metadata", "must be an object of metadata keys")
            _check_value("metadata", value)
        elif key in ENTITY_FIELDS:
            if not isinstance(value, str):
                raise MappingError(key, "must be a JSONPath ($...) or a literal string")
            _check_value(key, value)
        else:
            allowed = ", ".join((*ENTITY_FIELDS, "metadata"))
            raise MappingError(key, f"unknown key (allowed: {allowed})")


def _evaluate(key: str, value: Any, payload: Any) -> Any:
    """What `value` gives on `payload` (SPEC 4's shapes); MappingError names `key`."""
    if isinstance(value, dict):
        return {k: _evaluate(f"{key}.{k}", v, payload) for k, v in value.items()}
    if not _is_path(value):
        return value
    try:
        return path_value(value, payload)
    except PathError as exc:  # parses, but not on this payload (a broken regex filter)
        raise MappingError(key, str(exc)) from exc


@dataclass(frozen=True)
class MappedEntity:
    name: str
    entity_type: str
    email: str | None
    avatar_url: str | None
    metadata: dict[str, Any]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def entity_map(mapping: dict[str, Any], payload: Any) -> MappedEntity:
    """Apply `mapping` to `payload`; MappingError names a required field that came out empty."""
    values = {key: _evaluate(key, mapping.get(key), payload) for key in ENTITY_FIELDS}
    texts = {key: _text(value) for key, value in values.items()}
    for key in REQUIRED_FIELDS:
        if texts[key] is None:
            source = mapping.get(key)
            if source is None:
                raise MappingError(key, "is required but the mapping has no such key")
            raise MappingError(key, f"{source} matched no usable value in the payload")
    evaluated = _evaluate("metadata", mapping.get("metadata") or {}, payload)
    # A path that matched nothing adds nothing: merged into an existing entity, a None
    # would erase what an earlier event told us.
    metadata = {key: value for key, value in evaluated.items() if value is not None}
    email = texts["email"]
    return MappedEntity(
        name=texts["name"] or "",
        entity_type=texts["entity_type"] or "",
        # Stored lower-cased: the (canvas, email) lookup must not split one person in two
        # because a provider changed the case of an address.
        email=email.lower() if email else None,
        avatar_url=texts["avatar_url"],
        metadata=metadata,
    )
