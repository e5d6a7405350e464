"""An in-process fake worker for property tests of the engine, and the invariants it
checks after every step.

The driver plays every actor of a run through the engine services, choosing at random
(from one seed, so a failure can be replayed): workers complete or fail, repeat their
callback, call back for an earlier attempt or contradict a finished node; people
complete UX nodes; operators retry failed nodes and cancel runs. Callbacks of sibling
instances come in random order.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings

from flows import engine
from flows.engine.plan import Plan, plan_for
from flows.models import NodeStatus, Run, RunNode, RunStatus

SETTLED = {RunStatus.COMPLETED, RunStatus.CANCELLED}


def bounded(max_examples: int) -> settings:
    """Hypothesis settings of the engine's property tests: the same examples on every
    run (derandomized, no example database), no per-example deadline (PostgreSQL on a
    shared machine), the example printed on failure."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


ACTIVE = {NodeStatus.RUNNING, NodeStatus.WAITING_FOR_USER}


def spec_summary(statuses: list[str]) -> str:
    """SPEC 4, word for word (kept apart from the engine's own implementation)."""
    for status in ("failed", "running", "waiting_for_user", "pending"):
        if status in statuses:
            return status
    return "completed" if all(s == "completed" for s in statuses) else "skipped"


def random_output(rng: random.Random) -> Any:
    """Mostly objects carrying an `items` array (so later Splitters find one), now and
    then something else (a Splitter downstream of it then fails)."""
    roll = rng.random()
    if roll < 0.8:
        return {
            "v": rng.randint(0, 9),
            "items": [rng.randint(0, 9) for _ in range(rng.randint(0, 3))],
        }
    if roll < 0.9:
        return [rng.randint(0, 9)]
    return f"text-{rng.randint(0, 9)}"


@dataclass
class Driver:
    run_id: Any
    seed: int
    graph: dict[str, Any]
    max_retries: int = 4
    max_steps: int = 400
    rng: random.Random = field(init=False)
    plan: Plan = field(init=False)
    # Each Collector's output and attempts when first seen completed: never to change.
    collected: dict[str, tuple[Any, int]] = field(default_factory=dict)
    retries: int = 0
    steps: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        run = Run.objects.get(pk=self.run_id)
        self.plan = plan_for(run.flow_version_id)
        # Whether this run will leave UX nodes waiting at the end (allowed: SPEC 4).
        self.completes_people = self.rng.random() < 0.9

    def where(self) -> str:
        return f"seed={self.seed} step={self.steps} graph={json.dumps(self.graph)}"

    # --- playing -------------------------------------------------------------------------
    def play(self) -> Run:
        while self.steps < self.max_steps:
            self.steps += 1
            if not self.act():
                break
            self.check()
        run = Run.objects.get(pk=self.run_id)
        self.check_final(run)
        return run

    def rows(self) -> list[RunNode]:
        return [
            row
            for row in RunNode.objects.filter(run_id=self.run_id)
            if not (row.index is None and row.node_id in self.plan.member_of)
        ]

    def act(self) -> bool:
        """One random action; False when nothing is left to do."""
        run = Run.objects.get(pk=self.run_id)
        rows = self.rows()
        running = [r for r in rows if r.status == NodeStatus.RUNNING]
        waiting = [r for r in rows if r.status == NodeStatus.WAITING_FOR_USER]
        failed = [r for r in rows if r.status == NodeStatus.FAILED]
        if run.status == RunStatus.CANCELLED:
            if running and self.rng.random() < 0.5:
                self.late_after_cancel(self.rng.choice(running))
            return False
        choices: list[Any] = []
        if running:
            choices += [lambda: self.worker_answers(self.rng.choice(running))] * 6
        if waiting and self.completes_people:
            choices += [lambda: self.person_completes(self.rng.choice(waiting))] * 3
        if failed and self.retries < self.max_retries:
            choices += [lambda: self.operator_retries(self.rng.choice(failed))] * 2
        finished = [r for r in rows if r.status in (NodeStatus.COMPLETED, NodeStatus.FAILED)]
        if finished and choices:
            choices.append(lambda: self.contradiction(self.rng.choice(finished)))
        if not choices:
            return False
        if self.rng.random() < 0.02:
            engine.run_cancel(run=run)
            return True
        self.rng.choice(choices)()
        return True

    def worker_answers(self, row: RunNode) -> None:
        status = "completed" if self.rng.random() < 0.85 else "failed"
        body: dict[str, Any] = (
            {"output": random_output(self.rng)} if status == "completed" else {"error": "no luck"}
        )
        applied = engine.callback_apply(
            run_id=self.run_id, node_id=row.node_id, status=status, attempt=row.attempts, **body
        )
        assert applied.result == "applied", (applied, self.where())
        if self.rng.random() < 0.3:
            self.repeat(row.node_id, status, row.attempts, body)
        if row.attempts > 1 and self.rng.random() < 0.5:
            self.stale(row.node_id, row.attempts - 1)

    def repeat(self, node_id: str, status: str, attempt: int, body: dict[str, Any]) -> None:
        before = self.state()
        again = engine.callback_apply(
            run_id=self.run_id, node_id=node_id, status=status, attempt=attempt, **body
        )
        assert again.result == "unchanged", (again, self.where())
        assert self.state() == before, f"a repeated callback changed the run: {self.where()}"

    def stale(self, node_id: str, attempt: int) -> None:
        before = self.state()
        late = engine.callback_apply(
            run_id=self.run_id, node_id=node_id, status="completed", output="late", attempt=attempt
        )
        assert late.result == "stale", (late, self.where())
        assert self.state() == before, f"an earlier attempt's callback changed it: {self.where()}"

    def contradiction(self, row: RunNode) -> None:
        if row.kind != "worker":
            return
        before = self.state()
        status = "failed" if row.status == NodeStatus.COMPLETED else "completed"
        result = engine.callback_apply(
            run_id=self.run_id, node_id=row.node_id, status=status, attempt=row.attempts
        )
        assert result.result == "conflict", (result, self.where())
        assert self.state() == before, f"a contradicting callback changed it: {self.where()}"

    def late_after_cancel(self, row: RunNode) -> None:
        result = engine.callback_apply(
            run_id=self.run_id, node_id=row.node_id, status="completed", attempt=row.attempts
        )
        assert result.result in ("ignored", "unchanged"), (result, self.where())

    def person_completes(self, row: RunNode) -> None:
        run = Run.objects.get(pk=self.run_id)
        engine.ux_complete(run=run, node_id=row.node_id, output=random_output(self.rng))

    def operator_retries(self, row: RunNode) -> None:
        self.retries += 1
        run = Run.objects.get(pk=self.run_id)
        # Retry the node itself, or (for an instance) its template, as an operator may.
        target = row.node_id
        if row.index is not None and self.rng.random() < 0.3:
            target = row.template_id
        engine.node_retry(run=run, node_id=target)

    def state(self) -> tuple[Any, ...]:
        run = Run.objects.get(pk=self.run_id)
        counters = (run.status, run.running_count, run.waiting_count, run.failed_count)
        return (*counters, run.done_count, json.dumps(engine.node_states(run), sort_keys=True))

    # --- invariants -------------------------------------------------------------------------
    def check(self) -> None:
        run = Run.objects.get(pk=self.run_id)
        rows = list(RunNode.objects.filter(run_id=self.run_id))
        by_id = {r.node_id: r for r in rows}
        plain = [r for r in rows if not (r.index is None and r.node_id in self.plan.member_of)]

        def count(status: str) -> int:
            return sum(1 for r in plain if r.status == status)

        where = self.where()
        if run.status != RunStatus.CANCELLED:
            assert run.running_count == count(NodeStatus.RUNNING), where
            assert run.waiting_count == count(NodeStatus.WAITING_FOR_USER), where
            assert run.failed_count == count(NodeStatus.FAILED), where
            done = sum(
                1
                for r in rows
                if r.index is None and r.status in (NodeStatus.COMPLETED, NodeStatus.SKIPPED)
            )
            assert run.done_count == done, where
            self.check_blockers(by_id)
        self.check_collectors(by_id)
        self.check_summaries(run)

    def check_blockers(self, by_id: dict[str, RunNode]) -> None:
        plan = self.plan
        for row in by_id.values():
            if row.status != NodeStatus.PENDING or row.kind == "collector":
                continue
            if row.index is None and row.node_id in plan.member_of:
                continue  # a template's counters mean nothing
            splitter = plan.member_of.get(row.template_id)
            sources = [s for s in plan.sources(row.template_id) if s != splitter]
            suffix = "" if row.index is None else f"_{row.index}"
            open_sources = [
                s for s in sources if by_id[f"{s}{suffix}"].status != NodeStatus.COMPLETED
            ]
            assert row.blockers == len(open_sources), (row.node_id, self.where())

    def check_collectors(self, by_id: dict[str, RunNode]) -> None:
        plan = self.plan
        for splitter, split in plan.splits.items():
            collector = by_id[split["collector"]]
            name = collector.node_id
            instances = [
                r
                for r in by_id.values()
                if r.index is not None and r.template_id in split["members"]
            ]
            if collector.status == NodeStatus.COMPLETED:
                seen = (collector.output, collector.attempts)
                if name in self.collected:
                    assert seen == self.collected[name], f"{name} fired twice: {self.where()}"
                else:
                    self.collected[name] = seen
                    self.check_collected(splitter, collector, by_id)
            elif (
                collector.status == NodeStatus.PENDING
                and by_id[splitter].status == NodeStatus.COMPLETED
            ):
                active = sum(1 for r in instances if r.status in ACTIVE)
                failed = sum(1 for r in instances if r.status == NodeStatus.FAILED)
                tails = plan.tails(splitter)
                open_tails = sum(
                    1
                    for r in instances
                    if r.template_id in tails and r.status != NodeStatus.COMPLETED
                )
                assert (collector.branch_active, collector.branch_failed) == (active, failed), (
                    name,
                    self.where(),
                )
                assert collector.blockers == open_tails, (name, self.where())

    def check_collected(self, splitter: str, collector: RunNode, by_id: dict[str, RunNode]) -> None:
        """One entry per instance, in index order: what the tails of that index gave."""
        items = by_id[splitter].output or []
        tails = self.plan.tails(splitter)
        expected = []
        for index in range(len(items)):
            outputs = [by_id[f"{tail}_{index}"].output for tail in tails]
            if len(tails) == 1:
                expected.append(outputs[0])
                continue
            merged: dict[str, Any] = {}
            for tail, out in zip(tails, outputs, strict=True):
                merged.update(out if isinstance(out, dict) else {tail: out})
            expected.append(merged)
        assert collector.output == expected, (collector.node_id, self.where())

    def check_summaries(self, run: Run) -> None:
        states = engine.node_states(run)
        rows = (
            RunNode.objects.filter(run=run).exclude(index=None).values_list("template_id", "status")
        )
        instances: dict[str, list[str]] = {}
        for template, status in rows:
            instances.setdefault(template, []).append(status)
        for template, statuses in instances.items():
            assert states[template]["status"] == spec_summary(statuses), (template, self.where())
        canvas = {n["id"] for n in self.graph["nodes"]} - set(self.plan.kinds)
        assert not canvas & set(states), f"canvas nodes reported: {self.where()}"

    def check_final(self, run: Run) -> None:
        where = self.where()
        states = engine.node_states(run)
        statuses = {s["status"] for s in states.values()}
        if run.status in SETTLED:
            assert not statuses & {"running", "pending", "waiting_for_user"}, (statuses, where)
        elif run.status == RunStatus.FAILED:
            assert not statuses & ACTIVE, (statuses, where)
        else:
            # Not settled: only people may be left to act.
            assert run.status == RunStatus.WAITING, (run.status, where)
            rows = self.rows()
            assert not [r for r in rows if r.status == NodeStatus.RUNNING], where
            assert [r for r in rows if r.status == NodeStatus.WAITING_FOR_USER], where
        if run.finished_at is not None:
            assert run.node_states == states, f"stale snapshot: {where}"
