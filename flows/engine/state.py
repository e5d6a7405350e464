"""Node transitions of one locked run, applied within one transaction.

A `Step` is created by a service that already holds the run row lock
(`select_for_update`). It changes node rows and the run's counters, then `finish()`
writes the run status, defers worker dispatch jobs in the same transaction, moves
the run's entity and queues websocket notices for after the commit. Because every
change to a run goes through its row lock, the counters here need no other lock, and
one callback touches a handful of rows whatever the size of the fan-out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from entities import realtime
from flows import sql
from flows.engine import movement
from flows.engine.jobs import dispatch_defer
from flows.engine.plan import Plan, edge_contribution
from flows.engine.read import node_states, row_state
from flows.jsonpath import PathError, path_value
from flows.models import NodeStatus, Run, RunNode, RunStatus

ACTIVE = {NodeStatus.RUNNING, NodeStatus.WAITING_FOR_USER}
_RUN_FIELDS = [
    "status",
    "running_count",
    "waiting_count",
    "failed_count",
    "done_count",
    "finished_at",
    "updated_at",
]


def instance_id(template_id: str, index: int) -> str:
    return f"{template_id}_{index}"


class Step:
    def __init__(self, run: Run, plan: Plan):
        self.run = run
        self.plan = plan
        self.now = timezone.now()
        self.rows: dict[str, RunNode] = {}
        self.dirty: dict[str, RunNode] = {}
        self.new_rows: list[RunNode] = []
        self.to_dispatch: list[RunNode] = []
        self.notices: list[tuple[str, str]] = []
        self.outcomes: list[tuple[str, str]] = []  # (template id, completed|failed)
        self.done_before = run.done_count
        self.status_before = run.status
        # While a split creates its instances, Collector checks wait for the end of it:
        # an instance failing on the way must not fail the Collector before its
        # siblings exist.
        self.splitting = False
        # States set by a service without a row in hand (cancel's bulk update).
        self.changed: dict[str, dict[str, Any]] = {}

    # --- rows -------------------------------------------------------------------
    def row(self, node_id: str) -> RunNode:
        if node_id not in self.rows:
            self.rows[node_id] = RunNode.objects.get(run=self.run, node_id=node_id)
        return self.rows[node_id]

    def adopt(self, node: RunNode) -> RunNode:
        self.rows.setdefault(node.node_id, node)
        return self.rows[node.node_id]

    def touch(self, node: RunNode) -> None:
        if node.pk is not None:
            self.dirty[node.node_id] = node

    def _set_status(self, node: RunNode, status: str, *, notify: bool = True) -> None:
        node.status = status
        self.touch(node)
        if notify:
            self.notices.append((node.node_id, status))

    def notice(self, node_id: str, status: str) -> None:
        """A `run.updated` for a node whose row is not changed here (a template node's
        summary, SPEC 4)."""
        self.notices.append((node_id, status))

    # --- transitions --------------------------------------------------------------
    def fire(self, node: RunNode, node_input: Any) -> None:
        """Start a node whose upstream is complete."""
        node.input = node_input
        node.started_at = self.now
        node.finished_at = None
        node.error = None
        node.attempts += 1
        if node.index is not None:
            self._collector_for(node).branch_active += 1
        if node.kind == "worker":
            self._set_status(node, NodeStatus.RUNNING)
            timeout = callback_timeout(self.plan, node.template_id)
            node.callback_deadline = self.now + timedelta(seconds=timeout)
            self.run.running_count += 1
            self.to_dispatch.append(node)
        elif node.kind == "ux":
            # A person completes it; what it received is shown as its output meanwhile.
            self._set_status(node, NodeStatus.WAITING_FOR_USER)
            node.output = node_input
            self.run.waiting_count += 1
        elif node.kind == "splitter":
            self._fire_splitter(node, node_input)
        elif node.kind == "collector":
            self.complete(node, self._collected(node))

    def refire(self, node: RunNode) -> None:
        """Retry a failed node with the input it had (recomputed from its upstream when
        it failed before it could fire: an input mapping that could not be evaluated)."""
        self.run.failed_count -= 1
        if node.index is not None:
            collector = self._collector_for(node)
            collector.branch_failed -= 1
            if collector.status == NodeStatus.FAILED:
                # Its failure named this instance; it waits for the branch again.
                self.run.failed_count -= 1
                collector.error = None
                collector.finished_at = None
                self._set_status(collector, NodeStatus.PENDING)
            if collector.branch_failed == 0 and node.kind == "worker":
                # No instance of the split failed any more and this one runs: by the
                # summary rule its template is running.
                self.notice(node.template_id, NodeStatus.RUNNING)
        if node.started_at is None:
            node.status = NodeStatus.PENDING
            self._fire_from_upstream(node)
        else:
            self.fire(node, node.input)

    def complete(self, node: RunNode, output: Any) -> None:
        self._leave(node)
        node.output = output
        node.error = None
        node.finished_at = self.now
        node.callback_deadline = None
        self._set_status(node, NodeStatus.COMPLETED)
        if node.index is None:
            self.run.done_count += 1
        self.outcomes.append((node.template_id, "completed"))
        if node.kind == "splitter" and node.template_id in self.plan.splits:
            self._split(node, output)
        elif node.index is not None:
            self._release_instance(node)
        else:
            self._release(node.template_id)

    def fail(self, node: RunNode, error: str) -> None:
        self._leave(node)
        node.error = error
        node.finished_at = self.now
        node.callback_deadline = None
        self._set_status(node, NodeStatus.FAILED)
        self.run.failed_count += 1
        self.outcomes.append((node.template_id, "failed"))
        if node.index is not None:
            self.notice(node.template_id, NodeStatus.FAILED)  # any failed: failed
            collector = self._collector_for(node)
            collector.branch_failed += 1
            self._check_collector(collector, split_done=True)

    def _leave(self, node: RunNode) -> None:
        """Counters for a node leaving an active state."""
        if node.status == NodeStatus.RUNNING:
            self.run.running_count -= 1
        elif node.status == NodeStatus.WAITING_FOR_USER:
            self.run.waiting_count -= 1
        if node.index is not None and node.status in ACTIVE:
            self._collector_for(node).branch_active -= 1

    # --- walking the graph --------------------------------------------------------------
    def start(self, entries: Iterable[RunNode], run_input: Any) -> None:
        for node in entries:
            self.fire(node, run_input)

    def _release(self, template_id: str) -> None:
        for target in self.plan.targets(template_id):
            if target in self.plan.member_of:
                continue  # instances are made by the split itself
            node = self.row(target)
            node.blockers -= 1
            self.touch(node)
            if node.kind == "collector":
                splitter = self.plan.collector_splitter(target)
                done = template_id == splitter or self._split_done_query(splitter)
                self._check_collector(node, split_done=done)
            elif node.blockers == 0 and node.status == NodeStatus.PENDING:
                self._fire_from_upstream(node)

    def _release_instance(self, node: RunNode) -> None:
        assert node.index is not None
        collector = self._collector_for(node)
        for target in self.plan.targets(node.template_id):
            if target == collector.node_id:
                collector.blockers -= 1
                continue
            nxt = self.row(instance_id(target, node.index))
            nxt.blockers -= 1
            self.touch(nxt)
            if nxt.blockers == 0 and nxt.status == NodeStatus.PENDING:
                self._fire_from_upstream(nxt)
        self._check_collector(collector, split_done=True)

    def _fire_from_upstream(self, node: RunNode) -> None:
        """Fire a node whose upstream completed, with the input its edges give it; an
        edge mapping that cannot be evaluated on that output fails the node instead."""
        try:
            node_input = self._upstream_input(node)
        except PathError as exc:
            self.fail(node, f"input mapping failed: {exc}")
            return
        self.fire(node, node_input)

    def _upstream_input(self, node: RunNode) -> Any:
        """Shallow merge of upstream outputs in edge order (SPEC 4). The first node of a
        branch gets its element as is (or what the edge's mapping makes of it)."""
        template_id, index = node.template_id, node.index
        splitter = self.plan.member_of.get(template_id)
        edges = self.plan.upstream[template_id]
        if index is not None and self.plan.sources(template_id) == [splitter]:
            [edge_id] = edges
            element = self._element(str(splitter), index)
            if self.plan.edges[edge_id]["mappings"]:
                return edge_contribution(self.plan, edge_id, element)
            return element
        merged: dict[str, Any] = {}
        for edge_id in edges:
            source = self.plan.edges[edge_id]["source"]
            if index is not None and source == splitter:
                output = self._element(source, index)
            elif index is not None:
                output = self.row(instance_id(source, index)).output
            else:
                output = self.row(source).output
            merged.update(edge_contribution(self.plan, edge_id, output))
        return merged

    def _element(self, splitter: str, index: int) -> Any:
        """Element `index` of a split. Outside the split's own step only that element is
        read: the Splitter's output holds the whole array, and reading it for each
        instance would make a callback's cost grow with the fan-out."""
        row = self.rows.get(splitter)
        if row is not None:
            return (row.output or [None] * (index + 1))[index]
        return (
            RunNode.objects.filter(run=self.run, node_id=splitter)
            .annotate(element=KeyTransform(str(index), "output"))
            .values_list("element", flat=True)
            .first()
        )

    # --- Splitter / Collector -------------------------------------------------------------
    def _fire_splitter(self, node: RunNode, node_input: Any) -> None:
        path = str(self.plan.data(node.template_id).get("arrayPath", ""))
        try:
            items = path_value(path, node_input)
        except ValueError as exc:
            self.fail(node, str(exc))
            return
        if not isinstance(items, list):
            self.fail(node, f"arrayPath {path!r} did not find an array in the input")
            return
        self.complete(node, items)

    def _split(self, splitter: RunNode, items: list[Any]) -> None:
        """Instantiate every branch node once per element; fire the first ones."""
        name = splitter.template_id
        members = self.plan.members(name)
        collector = self.row(self.plan.collector_of(name))
        collector.blockers += len(items) * len(self.plan.tails(name))
        collector.branch_active = 0
        collector.branch_failed = 0
        self.touch(collector)
        # Rows already in hand may not be inserted yet (a run starting with a split).
        missing = [member for member in members if member not in self.rows]
        for fetched in RunNode.objects.filter(run=self.run, node_id__in=missing):
            self.adopt(fetched)
        first = {m for m in members if self.plan.sources(m) == [name]}
        for member in members:
            if not items:
                self._set_status(self.rows[member], NodeStatus.SKIPPED)
                self.run.done_count += 1  # a skipped branch counts as done for progress
                continue
            # The template row says "running" until the Collector collects; what it
            # reports is the summary of its instances (SPEC 4): those of a first node
            # all start now, the others all wait (no change to announce).
            self._set_status(self.rows[member], NodeStatus.RUNNING, notify=False)
            if member in first:
                kind = self.plan.kinds[member]
                self.notice(member, _FIRED_STATUS.get(kind, NodeStatus.RUNNING))
        self.splitting = True
        for index in range(len(items)):
            for member in members:
                node = RunNode(
                    run=self.run,
                    node_id=instance_id(member, index),
                    template_id=member,
                    index=index,
                    kind=self.plan.kinds[member],
                    blockers=sum(1 for s in self.plan.sources(member) if s != name),
                )
                self.new_rows.append(self.adopt(node))
                if member in first:
                    self._fire_from_upstream(node)
        self.splitting = False
        self._release(name)  # a direct Splitter -> Collector edge, if any
        self._check_collector(collector, split_done=True)

    def _collector_for(self, node: RunNode) -> RunNode:
        splitter = self.plan.member_of[node.template_id]
        collector = self.row(self.plan.collector_of(splitter))
        self.touch(collector)
        return collector

    def _check_collector(self, collector: RunNode, *, split_done: bool) -> None:
        self.touch(collector)
        if collector.status != NodeStatus.PENDING or self.splitting:
            return
        if collector.blockers == 0 and split_done:
            self.fire(collector, None)
        elif collector.branch_active == 0 and collector.branch_failed > 0:
            self._fail_collector(collector)

    def _split_done_query(self, splitter: str | None) -> bool:
        """Whether the split happened (status only: the row's output is the array).
        Only reached for graphs saved before an outside node feeding a Collector was
        refused."""
        if splitter is None:
            return True
        if splitter in self.rows:
            return self.rows[splitter].status == NodeStatus.COMPLETED
        status = (
            RunNode.objects.filter(run=self.run, node_id=splitter)
            .values_list("status", flat=True)
            .first()
        )
        return status == NodeStatus.COMPLETED

    def _fail_collector(self, collector: RunNode) -> None:
        splitter = self.plan.collector_splitter(collector.template_id)
        self._flush()  # instances failed in this step must be visible to the query
        failed = (
            RunNode.objects.filter(
                run=self.run,
                template_id__in=self.plan.members(splitter) if splitter else [],
                status=NodeStatus.FAILED,
            )
            .exclude(index=None)
            .order_by("index", "template_id")
            .values_list("node_id", flat=True)
        )
        names = list(failed[:20])
        more = collector.branch_failed - len(names)
        suffix = f" and {more} more" if more > 0 else ""
        collector.attempts += 1
        self.fail(collector, f"failed instances: {', '.join(names)}{suffix}")

    def _collected(self, collector: RunNode) -> list[Any]:
        """Branch outputs in index order (several tails: merged per index)."""
        splitter = self.plan.collector_splitter(collector.template_id)
        if splitter is None:
            return []
        tails = self.plan.tails(splitter)
        if not self.plan.members(splitter):
            # Splitter -> Collector with nothing between: each branch is its element.
            return list(self.row(splitter).output or [])
        self._flush()  # instances completed in this step must be visible to the query
        rows = (
            RunNode.objects.filter(run=self.run, template_id__in=tails)
            .exclude(index=None)
            .values_list("template_id", "index", "output")
        )
        by_index: dict[int, dict[str, Any]] = {}
        for template_id, index, output in rows:
            by_index.setdefault(index or 0, {})[template_id] = output
        result: list[Any] = []
        for index in sorted(by_index):
            outputs = by_index[index]
            if len(tails) == 1:
                result.append(outputs[tails[0]])
                continue
            merged: dict[str, Any] = {}
            for tail in tails:
                out = outputs[tail]
                merged.update(out if isinstance(out, dict) else {tail: out})
            result.append(merged)
        members = RunNode.objects.filter(run=self.run, node_id__in=self.plan.members(splitter))
        for fetched in members:
            template = self.adopt(fetched)
            if template.status == NodeStatus.RUNNING:
                self._set_status(template, NodeStatus.COMPLETED)
                self.run.done_count += 1
        return result

    # --- writing -------------------------------------------------------------------------
    def _flush(self) -> None:
        if self.new_rows:
            sql.nodes_insert(self.new_rows)
            self.new_rows = []
        held = [node for node in self.dirty.values() if node.pk is not None]
        if held:
            sql.nodes_update(held)
        self.dirty = {}

    def finish(self) -> None:
        self._flush()
        run = self.run
        before = self.status_before
        if run.status != RunStatus.CANCELLED:
            run.status = run_status_of(run)
        settled = run.status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)
        run.finished_at = self.now if settled else None
        if settled:
            run.node_states = node_states(run)
        if settled:
            run.save(update_fields=[*_RUN_FIELDS, "node_states"])
        else:
            sql.run_counters_update(run)  # the common case, without the ORM's compiling
        just_completed = run.status == RunStatus.COMPLETED and before != RunStatus.COMPLETED
        movement.apply(self, run_completed=just_completed)
        if self.to_dispatch:
            dispatch_defer(self.to_dispatch)
        self.announce()

    def announce(self) -> None:
        """`run.updated` after commit for what this step changed (the run's own status
        when it changed), and the changed nodes' states on `run.changed_nodes`."""
        self.run.changed_nodes = self._changed_states()
        self._notify(status_changed=self.run.status != self.status_before)

    def _changed_states(self) -> dict[str, dict[str, Any]]:
        """States of the nodes this step changed (template nodes left out: their status
        is a summary over every instance, which only a full read gives)."""
        changed = dict(self.changed)
        for node_id, _status in self.notices:
            row = self.rows.get(node_id)
            if row is not None and not (row.index is None and node_id in self.plan.member_of):
                changed[node_id] = row_state(row)
        return changed

    def _notify(self, *, status_changed: bool) -> None:
        run = self.run
        notices = list(self.notices)
        if status_changed:
            notices.append(("", run.status))
        if not notices:
            return
        canvas_id = movement.entity_canvas_id(run)

        def send() -> None:
            for node_id, status in notices:
                realtime.run_updated(
                    run_id=run.pk,
                    flow_id=run.flow_id,
                    canvas_id=canvas_id,
                    node_id=node_id or None,
                    status=status,
                )

        transaction.on_commit(send)


# What the instances of a template fired by a split all are, so its summary too.
_FIRED_STATUS = {"worker": NodeStatus.RUNNING, "ux": NodeStatus.WAITING_FOR_USER}


def callback_timeout(plan: Plan, template_id: str) -> int:
    """Seconds a running Worker waits for its callback (`callbackTimeoutSeconds`)."""
    value = plan.data(template_id).get("callbackTimeoutSeconds")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return int(settings.WORKER_CALLBACK_TIMEOUT_SECONDS)


def run_status_of(run: Run) -> str:
    """The run's status as its node counters say (a run not cancelled)."""
    if run.running_count > 0:
        return RunStatus.RUNNING
    if run.waiting_count > 0:
        return RunStatus.WAITING
    if run.failed_count > 0:
        return RunStatus.FAILED
    return RunStatus.COMPLETED
