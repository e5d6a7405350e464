"""Property-based test of the engine on PostgreSQL (hypothesis).

Random valid workflow graphs (Workers, UX nodes, Splitter/Collector pairs with chains,
several tails and a second Splitter edge, diamonds, canvas nodes sprinkled in and on
edges, mappings) each run against the in-process fake worker of tests/engine/driver.py,
which completes, fails, repeats and reorders callbacks, calls back for earlier
attempts, retries failed nodes and cancels at random. After every step and at the end
it checks the invariants listed in issue 9 (see Driver.check and Driver.check_final).

Bounded: derandomized (the same examples every run), a fixed number of examples and of
steps per run. A failure prints the example (graph, seed); the driver's messages carry
`seed=... graph=...`, and `replay(seed, graph)` below reruns one by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from flows import engine
from flows.graph import validate_graph
from flows.workers import worker_types
from tests.engine.driver import Driver, bounded
from tests.engine.graphs import workflows
from tests.factories import FlowFactory, UserFactory

pytestmark = pytest.mark.django_db


def replay(seed: int, graph: dict[str, Any], run_input: Any) -> None:
    """Rerun one example by hand (in a test with the `db` fixture)."""
    owner = UserFactory.create()
    flow = FlowFactory.create(owner=owner, graph=graph)
    run = engine.run_start(flow=flow, input=run_input)
    Driver(run_id=run.pk, seed=seed, graph=graph).play()


run_inputs = st.fixed_dictionaries(
    {"v": st.integers(0, 9), "items": st.lists(st.integers(0, 9), min_size=1, max_size=4)}
)


@bounded(40)
@given(graph=workflows(), seed=st.integers(0, 2**32 - 1), run_input=run_inputs)
def test_every_generated_workflow_runs_to_an_end_keeping_the_engines_invariants(
    owner, graph: dict[str, Any], seed: int, run_input: dict[str, Any]
) -> None:
    note(f"replay({seed}, {json.dumps(graph)}, {json.dumps(run_input)})")
    assert validate_graph(graph, worker_types=worker_types()) == [], json.dumps(graph)
    flow = FlowFactory.create(owner=owner, graph=graph)
    run = engine.run_start(flow=flow, input=run_input)
    driver = Driver(run_id=run.pk, seed=seed, graph=graph)
    driver.check()
    driver.play()
