"""Entity mapping with JSONPath (SPEC 7.5), as a pure function."""

from __future__ import annotations

from typing import Any

import pytest

from flows.jsonpath import compile_path
from webhooks.mapping import MappingError, entity_map, mapping_check

PAYLOAD = {
    "customer": {"name": "Ada", "email": " Ada@Example.COM "},
    "items": [{"sku": "A"}, {"sku": "B"}],
    "score": 0,
}


def test_paths_literals_and_nested_metadata() -> None:
    mapped = entity_map(
        {
            "name": "$.customer.name",
            "email": "$.customer.email",
            "entity_type": "lead",
            "metadata": {
                "skus": "$.items[*].sku",
                "first": "$.items[0].sku",
                "score": "$.score",
                "tier": "gold",
                "deep": {"name": "$.customer.name"},
            },
        },
        PAYLOAD,
    )
    assert (mapped.name, mapped.email, mapped.entity_type) == ("Ada", "ada@example.com", "lead")
    assert mapped.metadata == {
        "skus": ["A", "B"],
        "first": "A",
        "score": 0,  # a falsy value is still a value
        "tier": "gold",
        "deep": {"name": "Ada"},
    }


def test_a_missing_required_value_names_the_key_and_the_path() -> None:
    with pytest.raises(MappingError) as caught:
        entity_map({"name": "$.customer.nickname", "entity_type": "lead"}, PAYLOAD)
    assert caught.value.key == "name" and "$.customer.nickname" in str(caught.value)


def test_an_object_is_not_a_name() -> None:
    with pytest.raises(MappingError, match="name"):
        entity_map({"name": "$.customer", "entity_type": "lead"}, PAYLOAD)


def test_parsed_expressions_are_cached() -> None:
    assert compile_path("$.customer.name") is compile_path("$.customer.name")


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"name": "$.a["}, "name"),
        ({"metadata": {"x": {"y": "$..["}}}, "metadata.x.y"),
        ({"metadata": "$.a"}, "metadata"),
        ({"bogus": "x"}, "bogus"),
    ],
)
def test_the_check_names_the_bad_key(mapping: dict, key: str) -> None:
    with pytest.raises(MappingError) as caught:
        mapping_check(mapping)
    assert caught.value.key == key


def test_a_path_that_can_match_several_values_always_gives_a_list() -> None:
    """SPEC 4's rule holds for entity mappings too: the shape follows the path, not how
    many values the payload happens to hold."""
    mapping: dict[str, Any] = {"name": "$.customer.name", "entity_type": "lead"}
    mapping["metadata"] = {"skus": "$.items[*].sku", "first": "$.items[0].sku"}
    one = entity_map(mapping, {**PAYLOAD, "items": [{"sku": "A"}]})
    none = entity_map(mapping, {**PAYLOAD, "items": []})
    assert one.metadata == {"skus": ["A"], "first": "A"}
    assert none.metadata == {"skus": []}  # a single value that is absent adds nothing


def test_a_path_that_cannot_be_evaluated_on_the_payload_names_its_key() -> None:
    mapping: dict[str, Any] = {"name": "$.customer.name", "entity_type": "lead"}
    mapping["metadata"] = {"big": '$.items[?(@.sku =~ "(")]'}  # parses; the regex does not
    with pytest.raises(MappingError) as caught:
        entity_map(mapping, PAYLOAD)
    assert caught.value.key == "metadata.big"
    assert "cannot be evaluated" in str(caught.value)
