"""SPEC section 3: one test per rule of graph validation (pure, no database)."""

from __future__ import annotations

from typing import Any

from flows.graph import compile_plan, validate_graph

KNOWN_WORKERS = ["echo"]


def node(node_id: str, kind: str = "Worker", **data: Any) -> dict[str, Any]:
    if kind.lower() == "worker" and not data:
        data = {"webhookUrl": "http://127.0.0.1:9000/work"}
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, edge_id: str | None = None) -> dict[str, Any]:
    return {"id": edge_id or f"{source}-{target}", "source": source, "target": target}


def problems(graph: Any, canvas_type: str = "workflow") -> list[dict[str, str]]:
    found = validate_graph(graph, canvas_type=canvas_type, worker_types=KNOWN_WORKERS)
    return [p.as_dict() for p in found]


def split_graph(*extra_nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": [
            node("split", "Splitter", arrayPath="$.items"),
            node("work"),
            node("collect", "Collector"),
            *extra_nodes,
        ],
        "edges": [edge("split", "work"), edge("work", "collect")],
    }


def test_a_valid_workflow_has_no_problems() -> None:
    graph = {
        "nodes": [node("start"), node("ask", "UX"), node("echo", workerType="echo")],
        "edges": [edge("start", "ask"), edge("ask", "echo")],
    }
    assert problems(graph) == []


def test_an_empty_workflow_is_valid() -> None:
    assert problems({"nodes": [], "edges": []}) == []


def test_a_graph_that_is_not_an_object_is_refused() -> None:
    assert problems(["nodes"])[0]["message"].startswith("graph must be an object")
    assert problems({"nodes": {}, "edges": []}) == [{"message": "graph.nodes must be a list"}]


def test_duplicate_node_ids_are_refused() -> None:
    graph = {"nodes": [node("a"), node("a")], "edges": []}
    assert problems(graph) == [{"message": "duplicate node id", "node_id": "a"}]


def test_duplicate_edge_ids_and_edge_ids_equal_to_node_ids_are_refused() -> None:
    graph = {
        "nodes": [node("a"), node("b")],
        "edges": [edge("a", "b", "e1"), edge("a", "b", "e1"), edge("a", "b", "a")],
    }
    assert problems(graph) == [
        {"message": "duplicate id", "edge_id": "e1"},
        {"message": "duplicate id", "edge_id": "a"},
    ]


def test_edges_to_unknown_nodes_are_refused_naming_the_edge() -> None:
    graph = {"nodes": [node("a")], "edges": [edge("a", "ghost", "e1"), edge("nope", "a", "e2")]}
    found = problems(graph)
    assert {p["edge_id"] for p in found} == {"e1", "e2"}
    assert "'ghost' is not a node" in found[0]["message"]


def test_an_edge_endpoint_that_is_not_a_string_is_refused_not_a_crash() -> None:
    graph = {"nodes": [node("a")], "edges": [{"id": "e1", "source": ["a"], "target": "a"}]}
    assert problems(graph)[0]["edge_id"] == "e1"


def test_a_cycle_is_refused_naming_every_node_on_it() -> None:
    graph = {
        "nodes": [node("a"), node("b"), node("c"), node("d")],
        "edges": [edge("a", "b"), edge("b", "c"), edge("c", "b"), edge("c", "d")],
    }
    found = problems(graph)
    assert {p["node_id"] for p in found} == {"b", "c"}
    assert all("cycle" in p["message"] for p in found)


def test_a_self_loop_is_a_cycle() -> None:
    graph = {"nodes": [node("a")], "edges": [edge("a", "a")]}
    assert problems(graph) == [{"message": "node is part of a cycle", "node_id": "a"}]


def test_a_worker_needs_a_webhook_url_or_a_known_worker_type() -> None:
    graph = {"nodes": [node("bare", "Worker", label="x")], "edges": []}
    assert problems(graph) == [
        {"message": "Worker needs a webhookUrl or a known workerType", "node_id": "bare"}
    ]


def test_an_unknown_worker_type_is_refused_and_a_known_one_accepted() -> None:
    graph = {"nodes": [node("w", workerType="teleport"), node("ok", workerType="echo")]}
    assert problems(graph) == [{"message": "unknown workerType 'teleport'", "node_id": "w"}]


def test_a_worker_type_that_is_not_a_string_is_refused_not_a_crash() -> None:
    graph = {"nodes": [node("w", workerType=["echo"])], "edges": []}
    assert problems(graph) == [{"message": "workerType must be a string", "node_id": "w"}]


def test_an_unsafe_webhook_url_is_refused() -> None:
    for url in ("javascript:alert(1)", "file:///etc/passwd", "ftp://host/x", "http://", 42):
        graph = {"nodes": [node("w", webhookUrl=url)], "edges": []}
        assert problems(graph) == [
            {"message": "webhookUrl must be an http(s) URL", "node_id": "w"}
        ], url


def test_https_and_loopback_webhook_urls_are_accepted() -> None:
    for url in ("https://workers.example.com/x", "http://127.0.0.1:8001/hook"):
        assert problems({"nodes": [node("w", webhookUrl=url)], "edges": []}) == []


def test_a_splitter_needs_an_array_path() -> None:
    graph = split_graph()
    graph["nodes"][0]["data"] = {}
    assert problems(graph) == [{"message": "Splitter needs an arrayPath", "node_id": "split"}]


def test_a_splitter_whose_branches_reach_no_collector_is_refused() -> None:
    graph = {
        "nodes": [node("split", "Splitter", arrayPath="$.items"), node("work")],
        "edges": [edge("split", "work")],
    }
    found = problems(graph)
    assert found and all(p["node_id"] in {"split", "work"} for p in found)
    assert any("without a Collector" in p["message"] for p in found)


def test_a_splitter_whose_branches_meet_at_two_collectors_is_refused() -> None:
    graph = {
        "nodes": [
            node("split", "Splitter", arrayPath="items"),
            node("a"),
            node("b"),
            node("c1", "Collector"),
            node("c2", "Collector"),
        ],
        "edges": [edge("split", "a"), edge("split", "b"), edge("a", "c1"), edge("b", "c2")],
    }
    assert problems(graph) == [
        {"message": "branches meet at several Collectors (c1, c2)", "node_id": "split"}
    ]


def test_a_node_inside_a_split_fed_from_outside_is_refused() -> None:
    graph = split_graph(node("outside"))
    graph["edges"].append(edge("outside", "work"))
    found = problems(graph)
    assert found == [
        {
            "message": "node inside the split of split has an upstream outside it (outside)",
            "node_id": "work",
        }
    ]


def test_an_id_that_looks_like_a_parallel_instance_is_refused() -> None:
    graph = split_graph(node("work_3"))
    assert problems(graph) == [
        {"message": "id could be mistaken for a parallel instance of work", "node_id": "work_3"}
    ]


def test_an_id_like_an_instance_of_a_node_outside_any_split_is_fine() -> None:
    graph = split_graph(node("collect_1"), node("other"), node("other_2"))
    assert problems(graph) == []


def test_executable_types_are_case_insensitive() -> None:
    graph = {
        "nodes": [
            node("s", "SPLITTER", arrayPath="$.x"),
            node("w", "wOrKeR", webhookUrl="http://127.0.0.1/x"),
            node("c", "collector"),
            node("u", "ux"),
        ],
        "edges": [edge("s", "w"), edge("w", "c"), edge("c", "u")],
    }
    assert problems(graph) == []
    graph["nodes"][1]["data"] = {}
    assert problems(graph) == [
        {"message": "Worker needs a webhookUrl or a known workerType", "node_id": "w"}
    ]
    plan = compile_plan({**graph, "nodes": [*graph["nodes"][:1], node("w"), *graph["nodes"][2:]]})
    assert plan["splits"] == {"s": {"collector": "c", "members": ["w"]}}


def test_bmc_canvases_are_checked_for_ids_and_edge_endpoints_only() -> None:
    # A cycle and a bare Worker are fine on a BMC canvas; broken ids are not.
    graph = {
        "nodes": [node("a", "section"), node("b", "Worker", label="no url")],
        "edges": [edge("a", "b"), edge("b", "a"), edge("a", "ghost", "dangling")],
    }
    assert problems(graph, "bmc") == [
        {"message": "target 'ghost' is not a node", "edge_id": "dangling"}
    ]
    graph["nodes"].append(node("a", "section"))
    assert {"message": "duplicate node id", "node_id": "a"} in problems(graph, "detail")


def test_every_problem_is_listed_not_just_the_first() -> None:
    graph = {
        "nodes": [node("a"), node("a"), node("w", webhookUrl="ftp://x"), node("s", "Splitter")],
        "edges": [edge("a", "ghost", "e1")],
    }
    found = problems(graph)
    assert {"message": "duplicate node id", "node_id": "a"} in found
    assert any(p.get("edge_id") == "e1" for p in found)
    assert any(p.get("node_id") == "w" for p in found)
    assert any(p.get("node_id") == "s" and "arrayPath" in p["message"] for p in found)


def test_a_node_with_malformed_data_is_reported_once() -> None:
    graph = {"nodes": [{"id": "a", "type": "UX", "data": []}, node("b")], "edges": [edge("a", "b")]}
    assert problems(graph) == [{"message": "data must be an object", "node_id": "a"}]


def test_the_plan_lists_entries_edges_and_split_members() -> None:
    graph = split_graph(node("start"))
    graph["edges"].insert(0, edge("start", "split"))
    plan = compile_plan(graph)
    assert plan["entries"] == ["start"]
    assert plan["member_of"] == {"work": "split"}
    assert plan["nodes"]["work"] == {
        "kind": "worker",
        "upstream": ["split-work"],
        "downstream": ["work-collect"],
    }


def test_the_plan_counts_only_edges_between_executable_nodes() -> None:
    # Canvas nodes are never fired (SPEC 3): a Worker fed only by one is an entry.
    graph = {
        "nodes": [{"id": "note", "type": "sticky", "data": {}}, node("work")],
        "edges": [edge("note", "work")],
    }
    plan = compile_plan(graph)
    assert plan["entries"] == ["work"]
    assert plan["edges"] == {}
    assert "note" not in plan["nodes"]


# --- canvas nodes are transparent (SPEC 3) ----------------------------------------------
def note(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "stickyNote", "position": {"x": 0, "y": 0}, "data": {}}


def test_a_path_through_a_canvas_node_is_an_edge_between_its_ends() -> None:
    graph = {
        "nodes": [node("a"), note("note"), node("b")],
        "edges": [edge("a", "note"), edge("note", "b")],
    }
    assert problems(graph) == []
    plan = compile_plan(graph)
    assert plan["entries"] == ["a"]
    [(edge_id, planned)] = plan["edges"].items()
    assert planned == {
        "source": "a",
        "target": "b",
        "path": ["a-note", "note-b"],
        "mappings": [],
    }
    assert plan["nodes"]["b"]["upstream"] == [edge_id]
    assert plan["nodes"]["a"]["downstream"] == [edge_id]


def test_chains_of_canvas_nodes_fan_out_and_in() -> None:
    graph = {
        "nodes": [node("a"), node("x"), note("n1"), note("n2"), node("b"), node("c")],
        "edges": [
            edge("a", "n1"),
            edge("x", "n1"),
            edge("n1", "n2"),
            edge("n2", "b"),
            edge("n2", "c"),
        ],
    }
    assert problems(graph) == []
    plan = compile_plan(graph)
    assert sorted(plan["entries"]) == ["a", "x"]
    pairs = sorted((e["source"], e["target"]) for e in plan["edges"].values())
    assert pairs == [("a", "b"), ("a", "c"), ("x", "b"), ("x", "c")]


def test_a_canvas_node_inside_a_split_is_part_of_the_branch() -> None:
    graph = {
        "nodes": [
            node("s", "Splitter", arrayPath="$.items"),
            note("n"),
            node("w"),
            node("c", "Collector"),
        ],
        "edges": [edge("s", "n"), edge("n", "w"), edge("w", "c")],
    }
    assert problems(graph) == []
    plan = compile_plan(graph)
    assert plan["splits"] == {"s": {"collector": "c", "members": ["w"]}}
    assert plan["entries"] == ["s"]


def test_a_canvas_node_feeding_nothing_executable_adds_no_edge() -> None:
    graph = {
        "nodes": [node("a"), note("n"), note("m")],
        "edges": [edge("a", "n"), edge("m", "a")],
    }
    assert problems(graph) == []
    assert compile_plan(graph)["edges"] == {}


def test_two_paths_between_the_same_nodes_through_canvas_nodes_are_refused() -> None:
    graph = {
        "nodes": [node("a"), note("n"), node("b")],
        "edges": [edge("a", "b"), edge("a", "n"), edge("n", "b")],
    }
    found = problems(graph)
    assert len(found) == 1
    assert found[0]["edge_id"] == "n-b"
    assert "a" in found[0]["message"] and "b" in found[0]["message"]


# --- refusals added to SPEC 3 -------------------------------------------------------------------
def test_two_edges_with_the_same_source_and_target_are_refused() -> None:
    graph = split_graph()
    graph["edges"].append(edge("work", "collect", "again"))
    assert problems(graph) == [
        {
            "message": "duplicate edge: work -> collect is already connected by edge work-collect",
            "edge_id": "again",
        }
    ]


def test_a_collector_reached_by_two_splitters_is_refused() -> None:
    graph = {
        "nodes": [
            node("s1", "Splitter", arrayPath="$.a"),
            node("s2", "Splitter", arrayPath="$.b"),
            node("w1"),
            node("w2"),
            node("c", "Collector"),
        ],
        "edges": [edge("s1", "w1"), edge("s2", "w2"), edge("w1", "c"), edge("w2", "c")],
    }
    assert {"message": "Collector is reached by several Splitters (s1, s2)", "node_id": "c"} in (
        problems(graph)
    )


def test_a_collector_reached_by_no_splitter_is_refused() -> None:
    graph = {"nodes": [node("a"), node("c", "Collector")], "edges": [edge("a", "c")]}
    assert problems(graph) == [
        {"message": "Collector is not reached by any Splitter", "node_id": "c"}
    ]
    assert problems({"nodes": [node("c", "Collector")], "edges": []}) == [
        {"message": "Collector is not reached by any Splitter", "node_id": "c"}
    ]


def test_a_node_outside_the_split_feeding_its_collector_is_refused() -> None:
    graph = split_graph(node("outside"))
    graph["edges"].append(edge("outside", "collect"))
    assert problems(graph) == [
        {
            "message": "outside is outside the split of split and cannot feed its Collector",
            "node_id": "outside",
            "edge_id": "outside-collect",
        }
    ]


def test_a_node_upstream_of_the_splitter_feeding_its_collector_is_refused() -> None:
    graph = split_graph(node("start"))
    graph["edges"] += [edge("start", "split"), edge("start", "collect")]
    found = problems(graph)
    assert [p.get("edge_id") for p in found] == ["start-collect"]


def test_an_array_path_that_does_not_parse_is_refused() -> None:
    graph = split_graph()
    graph["nodes"][0]["data"]["arrayPath"] = "$.items[?("
    [found] = problems(graph)
    assert found["node_id"] == "split"
    assert "arrayPath" in found["message"]


def test_an_edge_mapping_that_does_not_parse_is_refused() -> None:
    graph = {
        "nodes": [node("a"), node("b"), node("c")],
        "edges": [
            {**edge("a", "b"), "data": {"mapping": {"ok": "$.x", "bad": "$.[[", "lit": "y"}}},
            {**edge("b", "c"), "data": {"mapping": ["$.x"]}},
        ],
    }
    found = problems(graph)
    assert [p["edge_id"] for p in found] == ["a-b", "b-c"]
    assert "bad" in found[0]["message"]
    assert "must be an object" in found[1]["message"]


def test_a_split_with_wildcard_and_filter_paths_is_accepted() -> None:
    for path in ("$.items[*]", "$.orders[?(@.qty > 1)]", "items", "$..sku"):
        graph = split_graph()
        graph["nodes"][0]["data"]["arrayPath"] = path
        assert problems(graph) == [], path


def test_mappings_along_a_path_through_canvas_nodes_are_kept_in_order() -> None:
    graph = {
        "nodes": [node("a"), note("n"), node("b")],
        "edges": [
            {**edge("a", "n"), "data": {"mapping": {"v": "$.x"}}},
            {**edge("n", "b"), "data": {"mapping": {"w": "$.v"}}},
        ],
    }
    assert problems(graph) == []
    [planned] = compile_plan(graph)["edges"].values()
    assert planned["mappings"] == [{"v": "$.x"}, {"w": "$.v"}]
