"""SPEC 5: callback tokens are per attempt, and signed with the worker secret (which
rotates: the first secret signs, all are accepted)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from flows.models import RunNode
from tests.engine.conftest import detail, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def post(callback_url: str, body: dict, token: str | None = None):
    url = urlsplit(callback_url)
    query = f"token={token}" if token is not None else url.query
    return APIClient().post(f"{url.path}?{query}", body, format="json")


def token_of(callback_url: str) -> str:
    return urlsplit(callback_url).query.removeprefix("token=")


@pytest.fixture
def retried(owner, owner_client, worker, run_jobs):
    """A run whose node `a` failed on attempt 1 and was retried: attempt 2 is running."""
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    first = worker.bodies("a")[0]["callback_url"]
    assert post(first, {"status": "failed", "error": "flaky"}).status_code == 200
    assert owner_client.post(f"/api/runs/{run['id']}/nodes/a/retry/").status_code == 200
    run_jobs()
    second = worker.bodies("a")[1]["callback_url"]
    return run, first, second


def test_each_attempt_gets_its_own_callback_url(retried):
    _run, first, second = retried
    assert first != second


def test_a_callback_of_an_earlier_attempt_is_409_recorded_and_not_applied(retried, owner_client):
    run, first, second = retried
    late = post(first, {"status": "completed", "output": {"from": "attempt 1"}})
    assert late.status_code == 409
    assert late.json()["result"] == "stale"
    row = RunNode.objects.get(run_id=run["id"], node_id="a")
    assert (row.status, row.attempts, row.output) == ("running", 2, None)
    [record] = row.late_callbacks
    assert record | {"received_at": None} == {
        "received_at": None,
        "reason": "earlier_attempt",
        "attempt": 1,
        "status": "completed",
        "output": {"from": "attempt 1"},
        "error": None,
    }

    current = post(second, {"status": "completed", "output": {"from": "attempt 2"}})
    assert current.json() == {"result": "applied"}
    final = detail(owner_client, run["id"])
    assert final["node_states"]["a"]["output"] == {"from": "attempt 2"}
    assert [(c["node_id"], c["attempt"], c["reason"]) for c in final["late_callbacks"]] == [
        ("a", 1, "earlier_attempt")
    ]


def test_a_forged_or_altered_token_is_403(retried):
    _run, first, _second = retried
    mac = token_of(first).split(".", 1)[1]
    for forged in (f"2.{mac}", "2." + "0" * 64, mac, "2.", "x.y", "", "99999999999." + mac):
        assert post(first, {"status": "completed"}, token=forged).status_code == 403, forged


def test_tokens_do_not_depend_on_the_secret_key(retried, settings):
    _run, _first, second = retried
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 30
    assert post(second, {"status": "completed"}).status_code == 200


def test_a_rotated_secret_still_accepts_tokens_signed_with_the_old_one_until_dropped(
    owner, owner_client, worker, run_jobs, settings
):
    settings.WORKER_SECRETS = ["old-secret-" + "o" * 32]
    flow = workflow(owner, [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)], [])
    start(owner_client, flow)
    run_jobs()
    old_a, old_b = (worker.bodies(n)[0]["callback_url"] for n in ("a", "b"))

    settings.WORKER_SECRETS = ["new-secret-" + "n" * 32, "old-secret-" + "o" * 32]
    assert post(old_a, {"status": "completed"}).status_code == 200
    settings.WORKER_SECRETS = ["new-secret-" + "n" * 32]
    assert post(old_b, {"status": "completed"}).status_code == 403


def test_dispatches_are_signed_with_the_first_secret(
    owner, owner_client, worker, run_jobs, settings
):
    settings.WORKER_SECRETS = ["first-" + "f" * 32, "second-" + "s" * 32]
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    start(owner_client, flow)
    run_jobs()
    [sent] = worker.requests
    expected = hmac.new(("first-" + "f" * 32).encode(), sent["raw"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-Stitch-Signature"] == f"sha256={expected}"
    assert post(sent["body"]["callback_url"], {"status": "completed"}).status_code == 200
