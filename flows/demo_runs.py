"""The demo's runs (`manage.py demo_setup`): one completed, one waiting for a person.

Both go through the engine like any run: `run_start`, then the workflow's built-in
workers are run here instead of waiting for the background worker (their dispatch jobs
find the node done and do nothing), then the completed one's UX step is completed with
`ux_complete`. Each run is found again by its trigger's `event_id`, so reruns add none.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync

from entities.models import Entity
from flows import dispatch, engine
from flows.models import Flow, NodeStatus, Run, RunNode

# (trigger event_id, entity e-mail, input, output of the UX step or None to leave it waiting)
DEMO_RUNS: list[tuple[str, str, dict[str, Any], dict[str, Any] | None]] = [
    (
        "demo-run-completed",
        "ada@example.com",
        {"customer": {"name": "Ada Lovelace", "plan": "pro"}},
        {"approved": True, "note": "Welcome call done."},
    ),
    (
        "demo-run-waiting",
        "alan@example.com",
        {"customer": {"name": "Alan Turing", "plan": "starter"}},
        None,
    ),
]


def demo_runs_ensure(*, workflow: Flow, canvas: Flow) -> list[Run]:
    runs = []
    for event_id, email, run_input, review in DEMO_RUNS:
        existing = Run.objects.filter(flow=workflow, trigger__event_id=event_id).first()
        if existing is not None:
            runs.append(existing)
            continue
        entity = Entity.objects.filter(canvas=canvas, email=email).first()
        trigger = {"type": "manual", "source": "demo", "event_id": event_id}
        run = engine.run_start(flow=workflow, input=run_input, entity=entity, trigger=trigger)
        _run_builtin_workers(run)
        waiting = RunNode.objects.filter(run=run, status=NodeStatus.WAITING_FOR_USER)
        if review is not None:
            for node_id in waiting.values_list("node_id", flat=True):
                engine.ux_complete(run=run, node_id=node_id, output=review)
        runs.append(Run.objects.get(pk=run.pk))
    return runs


def _run_builtin_workers(run: Run) -> None:
    """Run the built-in workers of running nodes until none is left (HTTP workers are
    left to the background worker)."""
    for _ in range(20):  # a chain of built-in workers, one link per pass
        running = RunNode.objects.filter(run=run, status=NodeStatus.RUNNING, kind="worker")
        targets = [
            target
            for node in running
            if (
                target := dispatch.load_target(
                    run_id=str(run.pk), node_id=node.node_id, attempt=node.attempts
                )
            )
            and target.url is None
        ]
        if not targets:
            return
        for target in targets:
            call = target.call
            outcome = async_to_sync(dispatch.perform)(target)
            engine.worker_outcome_apply(
                run_id=run.pk, node_id=call.node_id, attempt=call.attempt, outcome=outcome
            )
