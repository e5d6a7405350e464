"""SPEC 4: the shape of a JSONPath result depends on the path, never on the data."""

from __future__ import annotations

import pytest

from flows.jsonpath import path_value
from tests.engine.conftest import detail, edge, node, start, workflow

DATA = {"items": [{"id": 7, "tags": ["a", "b"]}], "name": "Ada", "empty": []}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.items[*]", [{"id": 7, "tags": ["a", "b"]}]),  # one match: still a list
        ("$.missing[*]", []),  # no match: an empty list
        ("$.items[*].id", [7]),
        ("$..id", [7]),
        ("$.items[0:1]", [{"id": 7, "tags": ["a", "b"]}]),
        ("$.items[?(@.id > 5)].id", [7]),
        ("$.items[?(@.id > 50)].id", []),
        ("$.items[0].id", 7),  # a single value: that value
        ("$.items", [{"id": 7, "tags": ["a", "b"]}]),
        ("$.name", "Ada"),
        ("name", "Ada"),  # dot path
        ("$.missing", None),  # a single value that is absent: null
        ("$.items[3].id", None),
        ("$.empty", []),
    ],
)
def test_a_path_yields_a_list_exactly_when_it_can_match_several(path, expected) -> None:
    assert path_value(path, DATA) == expected


pytestmark_db = pytest.mark.django_db(transaction=True)


def split_flow(owner, path: str):
    return workflow(
        owner,
        [
            node("s", "Splitter", arrayPath=path),
            node("w", workerType="echo"),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )


@pytestmark_db
def test_a_wildcard_splitter_over_one_element_makes_one_instance_of_it(
    owner, owner_client, run_jobs
) -> None:
    flow = split_flow(owner, "$.orders[*]")
    run = start(owner_client, flow, input={"orders": [["x", "y"]]})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["w_0"]["output"] == ["x", "y"]
    assert "w_1" not in final["node_states"]
    assert final["node_states"]["c"]["output"] == [["x", "y"]]


@pytestmark_db
def test_a_wildcard_splitter_with_no_match_collects_an_empty_list(
    owner, owner_client, run_jobs
) -> None:
    flow = split_flow(owner, "$.orders[*]")
    run = start(owner_client, flow, input={"other": 1})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["output"] == []
    assert final["node_states"]["w"]["status"] == "skipped"


@pytestmark_db
def test_a_filter_splitter_splits_the_matching_elements(owner, owner_client, run_jobs) -> None:
    flow = split_flow(owner, "$.orders[?(@.qty > 1)]")
    run = start(owner_client, flow, input={"orders": [{"qty": 1}, {"qty": 3}, {"qty": 2}]})
    run_jobs()
    assert detail(owner_client, run["id"])["node_states"]["c"]["output"] == [{"qty": 3}, {"qty": 2}]


@pytestmark_db
def test_a_wildcard_mapping_yields_a_list_even_of_one_match(owner, owner_client, run_jobs) -> None:
    mapping = {"ids": "$.items[*].id", "first": "$.items[0].id", "none": "$.nope", "lit": "x"}
    flow = workflow(
        owner,
        [node("a", workerType="echo"), node("b", workerType="echo")],
        [edge("a", "b", mapping=mapping)],
    )
    run = start(owner_client, flow, input={"items": [{"id": 4}]})
    run_jobs()
    assert detail(owner_client, run["id"])["node_states"]["b"]["output"] == {
        "ids": [4],
        "first": 4,
        "none": None,
        "lit": "x",
    }


@pytestmark_db
def test_a_filter_that_cannot_compare_the_data_fails_the_node_not_the_request(
    owner, owner_client, run_jobs
) -> None:
    flow = workflow(
        owner,
        [node("a", workerType="echo"), node("b", workerType="echo")],
        [edge("a", "b", mapping={"by_qty": "$.items[/qty]"})],  # sorted by qty
    )
    run = start(owner_client, flow, input={"items": [{"qty": "many"}, {"qty": 1}]})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    assert final["node_states"]["b"]["status"] == "failed"
    assert "input mapping failed" in final["node_states"]["b"]["error"]
