"""`manage.py demo_setup` leaves a completed run and one waiting for a person."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from flows.inbox import waiting_tasks
from flows.models import Run, RunNode
from stitch.models import User
from tests.foundation.test_demo_setup import var_dir  # noqa: F401 (autouse: a var dir per test)

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_completed_run_and_a_task_waiting_for_the_operator() -> None:
    call_command("demo_setup", stdout=io.StringIO())
    runs = {run.trigger["event_id"]: run for run in Run.objects.all()}
    assert set(runs) == {"demo-run-completed", "demo-run-waiting"}
    done, waiting = runs["demo-run-completed"], runs["demo-run-waiting"]
    assert done.status == "completed"
    assert RunNode.objects.get(run=done, node_id="review").output == {
        "approved": True,
        "note": "Welcome call done.",
    }
    assert waiting.status == "waiting"
    assert RunNode.objects.get(run=waiting, node_id="enrich").status == "completed"
    operator = User.objects.get(username="operator")
    [task] = waiting_tasks(operator)
    assert (task.run_id, task.node_id) == (waiting.pk, "review")
    assert waiting.entity is not None and waiting.entity.name == "Alan Turing"


def test_running_the_demo_again_adds_no_runs() -> None:
    call_command("demo_setup", stdout=io.StringIO())
    call_command("demo_setup", stdout=io.StringIO())
    assert Run.objects.count() == 2
