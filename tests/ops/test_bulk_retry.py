"""`POST /api/runs/retry-failed/` and the admin's bulk retry: every failed node of the
caller's matching failed runs fired again, and a second identical call does nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from flows import engine
from flows.models import Flow, Run, RunNode
from stitch.models import User
from tests.engine.conftest import edge, node, workflow
from tests.factories import UserFactory
from tests.jobrunner import jobs_clear

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_jobs_yet(db: None) -> None:
    jobs_clear()  # jobs left by earlier transactional tests (never rolled back)


URL = "/api/runs/retry-failed/"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
WORKER = "http://127.0.0.1:9/never-called"  # jobs are only queued here, never run


def two_step(owner: User) -> Flow:
    return workflow(
        owner, [node("a", webhookUrl=WORKER), node("b", webhookUrl=WORKER)], [edge("a", "b")]
    )


def failed_run(flow: Flow, *, at: datetime = DAY, node_id: str = "a") -> Any:
    run = engine.run_start(flow=flow, input={"n": 1})
    engine.callback_apply(run_id=run.pk, node_id=node_id, status="failed", error="boom")
    Run.objects.filter(pk=run.pk).update(created_at=at)
    assert Run.objects.get(pk=run.pk).status == "failed"
    return run.pk


def attempts(run_id: Any) -> dict[str, int]:
    return dict(RunNode.objects.filter(run_id=run_id).values_list("node_id", "attempts"))


def dispatch_jobs() -> int:
    return ProcrastinateJob.objects.filter(task_name="engine.dispatch_node", status="todo").count()


@pytest.fixture
def runs(owner: User, other: User) -> dict[str, Any]:
    flow, second = two_step(owner), two_step(owner)
    done = engine.run_start(flow=flow)
    for step in ("a", "b"):
        engine.callback_apply(run_id=done.pk, node_id=step, status="completed", output={})
    return {
        "flow": flow,
        "in_day": failed_run(flow, at=DAY + timedelta(hours=9)),
        "day_before": failed_run(flow, at=DAY - timedelta(hours=2)),
        "completed": done.pk,
        "running": engine.run_start(flow=flow).pk,
        "second_flow": failed_run(second, at=DAY + timedelta(hours=9)),
        "theirs": failed_run(two_step(other), at=DAY + timedelta(hours=9)),
    }


def test_it_retries_every_failed_node_of_exactly_the_matching_runs(
    owner_client: APIClient, runs: dict[str, Any]
) -> None:
    jobs = dispatch_jobs()
    body = {
        "flow_id": str(runs["flow"].pk),
        "since": DAY.isoformat(),
        "until": (DAY + timedelta(days=1)).isoformat(),
    }
    response = owner_client.post(URL, body, format="json")

    assert response.status_code == 200
    assert response.json() == {"retried": 1, "nodes": 1}
    assert attempts(runs["in_day"]) == {"a": 2, "b": 0}
    assert Run.objects.get(pk=runs["in_day"]).status == "running"
    assert dispatch_jobs() == jobs + 1
    for untouched in ("day_before", "second_flow", "theirs"):
        assert attempts(runs[untouched])["a"] == 1, untouched
        assert Run.objects.get(pk=runs[untouched]).status == "failed"


def test_a_second_identical_call_does_nothing_new(
    owner_client: APIClient, runs: dict[str, Any]
) -> None:
    body = {"flow_id": str(runs["flow"].pk)}
    assert owner_client.post(URL, body, format="json").json() == {"retried": 2, "nodes": 2}
    # The retried node fails again: the same call still leaves it alone.
    engine.callback_apply(run_id=runs["in_day"], node_id="a", status="failed", error="again")
    jobs = dispatch_jobs()

    again = owner_client.post(URL, body, format="json")

    assert again.json() == {"retried": 0, "nodes": 0}
    assert attempts(runs["in_day"])["a"] == 2
    assert dispatch_jobs() == jobs
    # A run that failed since, under the same filter, is new: it is retried.
    late = failed_run(runs["flow"], at=DAY)
    assert owner_client.post(URL, body, format="json").json() == {"retried": 1, "nodes": 1}
    assert attempts(late)["a"] == 2


def test_failed_instances_of_a_split_are_retried_and_reopen_their_collector(
    owner: User, owner_client: APIClient
) -> None:
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="$.items"),
            node("w", webhookUrl=WORKER),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )
    run = engine.run_start(flow=flow, input={"items": [1, 2, 3]})
    engine.callback_apply(run_id=run.pk, node_id="w_0", status="completed", output=0)
    for failing in ("w_1", "w_2"):
        engine.callback_apply(run_id=run.pk, node_id=failing, status="failed", error="no")
    assert RunNode.objects.get(run=run, node_id="c").status == "failed"

    answer = owner_client.post(URL, {"flow_id": str(flow.pk)}, format="json").json()

    assert answer == {"retried": 1, "nodes": 2}
    states = dict(RunNode.objects.filter(run=run).values_list("node_id", "status"))
    assert states == states | {"w_1": "running", "w_2": "running", "c": "pending"}
    for instance in ("w_1", "w_2"):
        engine.callback_apply(run_id=run.pk, node_id=instance, status="completed", output=1)
    assert Run.objects.get(pk=run.pk).status == "completed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "filter"),
        ({"flow": "x"}, "flow"),
        ({"flow_id": "nope"}, "flow_id"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
    ],
)
def test_a_filter_it_cannot_use_is_a_400_naming_the_field(
    owner_client: APIClient, runs: dict[str, Any], body: Any, field: str
) -> None:
    response = owner_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert attempts(runs["in_day"])["a"] == 1


def test_another_users_flow_retries_nothing(other_client: APIClient, runs: dict[str, Any]) -> None:
    body = {"flow_id": str(runs["flow"].pk)}
    assert other_client.post(URL, body, format="json").json() == {"retried": 0, "nodes": 0}


def test_the_admin_asks_with_the_count_then_retries_and_not_twice(runs: dict[str, Any]) -> None:
    operator = Client()
    operator.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    changelist = "/admin/flows/run/?status__exact=failed"
    action = {
        "action": "retry_failed_nodes",
        "select_across": "1",
        "_selected_action": [runs["in_day"]],
    }

    page = operator.post(changelist, action).content.decode()

    assert "Retry 4 failed run(s)? Their 4 failed node(s)" in page
    assert attempts(runs["in_day"])["a"] == 1
    done = operator.post(changelist, action | {"post": "yes"}, follow=True).content.decode()
    assert "4 run(s) retried (4 node(s) fired again)." in done
    assert attempts(runs["theirs"])["a"] == 2
    # The same action on the same list again: even a run that failed again since is not
    # retried a second time by it.
    engine.callback_apply(run_id=runs["in_day"], node_id="a", status="failed", error="again")
    again = operator.post(changelist, action | {"post": "yes"}, follow=True).content.decode()
    assert "Nothing new to do" in again
    assert attempts(runs["in_day"])["a"] == 2
    # Ticking that run is another action.
    ticked = {**action, "select_across": "0", "post": "yes"}
    operator.post(changelist, ticked, follow=True)
    assert attempts(runs["in_day"])["a"] == 3


def test_failed_runs_of_a_day_can_be_listed_with_the_same_filter(
    owner_client: APIClient, runs: dict[str, Any]
) -> None:
    since, until = DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()
    query = {"status": "failed", "since": since, "until": until}
    listed = owner_client.get("/api/runs/", query).json()["results"]
    assert sorted(run["id"] for run in listed) == sorted(
        str(runs[name]) for name in ("in_day", "second_flow")
    )
    assert owner_client.get("/api/runs/", {"since": "yesterday"}).status_code == 400
