"""Entity mapping with JSONPath (SPEC 7.5), as a pure function."""

from __future__ import annotations

import pytest

from webhooks.mapping import MappingError, compiled, entity_map, mapping_check

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
    assert compiled("$.customer.name") is compiled("$.customer.name")


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
