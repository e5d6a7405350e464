"""Property-based test of graph validation against the engine (hypothesis, PostgreSQL):
every workflow graph that validation accepts, the engine runs without an exception,
keeping its invariants; every graph it refuses is refused at save with problems that
each name a node or an edge of the graph.

The graphs are drawn loosely on purpose: any node type (in any case), Workers with
and without a URL or a known workerType, paths that parse and paths that do not,
edges in any direction (cycles, duplicates, dangling), mappings good and bad. Most are
refused; the rest are run by the fake worker of tests/engine/driver.py. Bounded and
derandomized like test_engine_properties; the example prints with its seed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from flows import engine
from flows.graph import GraphInvalid, validate_graph
from flows.services import flow_create
from flows.workers import worker_types
from tests.engine.driver import Driver, bounded
from tests.engine.graphs import mutated, workflows

pytestmark = pytest.mark.django_db

KINDS = ["Worker", "worker", "UX", "Splitter", "Collector", "COLLECTOR", "stickyNote", "bmcItem"]
WORKER_DATA = [
    {"webhookUrl": "http://127.0.0.1:9/w"},
    {"webhookUrl": "https://workers.example.com/x", "timeoutSeconds": 3},
    {"workerType": "echo"},
    {"workerType": "teleport"},
    {"webhookUrl": "ftp://nope"},
    {},
]
ARRAY_PATHS = ["$.items", "items", "$.items[*]", "$..v", "$.items[?(@ > 2)]", "$.[[", "", None]
MAPPINGS = [None, {"v": "$.v"}, {"items": "$.items[*]"}, {"x": "$.[["}, ["$.v"], {"k": "lit"}]


@st.composite
def loose_graphs(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(1, 8))
    nodes = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        data: dict[str, Any] = {"label": f"node {index}"}
        if kind.lower() == "worker":
            data |= draw(st.sampled_from(WORKER_DATA))
        elif kind == "Splitter":
            path = draw(st.sampled_from(ARRAY_PATHS))
            if path is not None:
                data["arrayPath"] = path
        nodes.append({"id": f"n{index}", "type": kind, "position": {"x": 0, "y": 0}, "data": data})
    edges = []
    for index in range(draw(st.integers(0, count + 3))):
        source = draw(st.integers(0, count - 1))
        # Mostly forwards (acyclic), now and then any way at all.
        low = source + 1 if draw(st.integers(0, 5)) else 0
        if low >= count:
            continue
        target = draw(st.integers(low, count - 1))
        edge: dict[str, Any] = {"id": f"e{index}", "source": f"n{source}", "target": f"n{target}"}
        mapping = draw(st.sampled_from(MAPPINGS))
        if mapping is not None:
            edge["data"] = {"mapping": mapping}
        edges.append(edge)
    return {"nodes": nodes, "edges": edges}


run_inputs = st.fixed_dictionaries(
    {"v": st.integers(0, 9), "items": st.lists(st.integers(0, 9), max_size=3)}
)


@bounded(200)
@given(
    graph=st.one_of(loose_graphs(), mutated(workflows())),
    seed=st.integers(0, 2**32 - 1),
    run_input=run_inputs,
)
def test_every_graph_validation_accepts_runs_and_every_refusal_names_its_place(
    owner, graph: dict[str, Any], seed: int, run_input: dict[str, Any]
) -> None:
    note(f"seed={seed} graph={json.dumps(graph)} input={json.dumps(run_input)}")
    problems = validate_graph(graph, worker_types=worker_types())
    ids = {n["id"] for n in graph["nodes"]} | {e["id"] for e in graph["edges"]}
    for problem in problems:
        assert {problem.node_id, problem.edge_id} & ids, (problem, seed)
    if problems:
        with pytest.raises(GraphInvalid):
            flow_create(owner=owner, name="refused", graph=graph)
        return
    flow = flow_create(owner=owner, name="accepted", graph=graph)
    run = engine.run_start(flow=flow, input=run_input)
    driver = Driver(run_id=run.pk, seed=seed, graph=graph)
    driver.check()
    driver.play()
