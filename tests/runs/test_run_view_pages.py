"""The run view: `/runs/{id}/` for the owner, the admin's Run page for operators."""

from __future__ import annotations

import json
import re

import pytest

from flows import engine
from flows.models import Run, RunNode
from tests.runs.conftest import finish, review_flow, split_flow, start, ux_only_flow

pytestmark = pytest.mark.django_db


def embedded_state(page: str) -> dict:
    match = re.search(r'<script id="run-state" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the page embeds the run state for its script"
    return json.loads(match.group(1))


def test_the_owner_sees_the_pinned_graph_with_node_statuses(owner, owner_web) -> None:
    flow = review_flow(owner)
    run = start(flow, {"customer": "Ada"})
    response = owner_web.get(f"/runs/{run.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="node"') == 2
    assert f'data-run-id="{run.pk}"' in page
    state = embedded_state(page)
    assert state["status"] == "waiting"
    assert state["nodes"] == {"review": "waiting_for_user", "after": "pending"}
    assert "runs/run_view.js" in page


def test_the_run_view_draws_the_version_the_run_started_on(owner, owner_web) -> None:
    flow = ux_only_flow(owner)
    run = start(flow)
    graph = flow.graph | {
        "nodes": [
            *flow.graph["nodes"],
            {
                "id": "later",
                "type": "UX",
                "position": {"x": 300, "y": 0},
                "data": {"label": "Added later"},
            },
        ]
    }
    from flows import services

    services.flow_update(flow=flow, owner=owner, graph=graph)
    page = owner_web.get(f"/runs/{run.pk}/").content.decode()
    assert "Added later" not in page
    assert page.count('class="node"') == 1


def test_another_users_run_is_404_and_anonymous_visitors_sign_in_first(
    owner, other_web, client
) -> None:
    run = start(ux_only_flow(owner))
    for path in ("", "state/", "node/?id=review", "instances/?template=w"):
        assert other_web.get(f"/runs/{run.pk}/{path}").status_code == 404, path
    assert other_web.post(f"/runs/{run.pk}/cancel/").status_code == 404
    assert other_web.post(f"/runs/{run.pk}/retry/", {"node_id": "review"}).status_code == 404
    response = client.get(f"/runs/{run.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Run.objects.get(pk=run.pk).status == "waiting"


def test_an_unknown_run_or_node_is_404(owner, owner_web) -> None:
    run = start(ux_only_flow(owner))
    assert owner_web.get("/runs/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert owner_web.get(f"/runs/{run.pk}/node/?id=nowhere").status_code == 404
    assert owner_web.get(f"/runs/{run.pk}/node/").status_code == 404


def test_splitter_instances_are_counted_with_a_breakdown(owner, owner_web) -> None:
    run = start(split_flow(owner), {"items": list(range(6))})
    for i in (0, 1, 2):
        finish(run, f"w_{i}", output=i)
    finish(run, "w_3", "failed", error="boom")
    state = owner_web.get(f"/runs/{run.pk}/state/").json()
    assert state["nodes"]["w"] == "failed"  # a failed instance makes the template failed
    assert state["instances"]["w"] == {
        "counts": {"completed": 3, "failed": 1, "running": 2},
        "text": "3 completed, 1 failed, 2 running",
    }
    panel = owner_web.get(f"/runs/{run.pk}/node/", {"id": "w"}).content.decode()
    assert "6 instances:</strong> 3 completed, 1 failed, 2 running" in panel
    assert "Retry the 1 failed instances" in panel


def test_the_instance_list_is_paged_and_filtered(owner, owner_web) -> None:
    run = start(split_flow(owner), {"items": list(range(250))})
    finish(run, "w_7", "failed", error="boom")
    url = f"/runs/{run.pk}/instances/"
    first = owner_web.get(url, {"template": "w"}).content.decode()
    assert first.count("<tr data-status=") == 100
    assert "page 1 of 3 (250 instances)" in first
    last = owner_web.get(url, {"template": "w", "page": 3}).content.decode()
    assert last.count("<tr data-status=") == 50
    assert ">w_249<" in last
    failed = owner_web.get(url, {"template": "w", "status": "failed"}).content.decode()
    assert failed.count("<tr data-status=") == 1
    assert ">w_7<" in failed
    assert owner_web.get(url, {"template": "w", "status": "lost"}).status_code == 400


def test_a_thousand_instances_cost_a_bounded_number_of_queries(
    owner, owner_web, django_assert_max_num_queries
) -> None:
    run = start(split_flow(owner), {"items": list(range(1000))})
    with django_assert_max_num_queries(12):
        page = owner_web.get(f"/runs/{run.pk}/", {"node": "w"}).content.decode()
    assert "1000 instances:</strong> 1000 running" in page
    assert page.count("w_") < 20  # instances are listed on demand, a page at a time


def test_the_node_panel_shows_input_output_error_attempts_and_late_callbacks(
    owner, owner_web
) -> None:
    run = start(split_flow(owner), {"items": ["a", "b"]})
    finish(run, "w_0", "failed", error="worker said no")
    engine.run_cancel(run=run)
    finish(run, "w_1", output={"late": True})  # after the cancel: kept, not applied
    failed = owner_web.get(f"/runs/{run.pk}/node/", {"id": "w_0"}).content.decode()
    assert "worker said no" in failed
    assert '<pre class="json" id="node-input">&quot;a&quot;</pre>' in failed
    assert "<dt>Attempts</dt><dd>1</dd>" in failed
    late = owner_web.get(f"/runs/{run.pk}/node/", {"id": "w_1"}).content.decode()
    assert 'id="late-callbacks"' in late
    assert "completed" in late and "<code>{&quot;late&quot;: true}</code>" in late
    assert RunNode.objects.get(run=run, node_id="w_1").status == "skipped"


def test_cancel_and_retry_call_the_engine(owner, owner_web) -> None:
    run = start(split_flow(owner), {"items": ["a", "b"]})
    finish(run, "w_0", "failed", error="boom")
    response = owner_web.post(f"/runs/{run.pk}/retry/", {"node_id": "w"})
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/?node=w"
    retried = RunNode.objects.get(run=run, node_id="w_0")
    assert (retried.status, retried.attempts) == ("running", 2)
    assert owner_web.post(f"/runs/{run.pk}/cancel/").status_code == 302
    assert Run.objects.get(pk=run.pk).status == "cancelled"
    page = owner_web.get(f"/runs/{run.pk}/").content.decode()
    assert "Run cancelled" in page


def test_refused_actions_say_why_and_change_nothing(owner, owner_web) -> None:
    run = start(ux_only_flow(owner))
    response = owner_web.post(f"/runs/{run.pk}/retry/", {"node_id": "review"}, follow=True)
    assert "Not retried: node &#x27;review&#x27; is waiting_for_user" in response.content.decode()
    assert owner_web.post(f"/runs/{run.pk}/retry/", {}).status_code == 400
    assert owner_web.post(f"/runs/{run.pk}/retry/", {"node_id": "nope"}).status_code == 404
    assert owner_web.get(f"/runs/{run.pk}/cancel/").status_code == 405
    engine.ux_complete(run=run, node_id="review", output=None)
    done = owner_web.post(f"/runs/{run.pk}/cancel/", follow=True).content.decode()
    assert "Not cancelled: the run is already completed" in done


def test_a_foreign_next_url_is_not_followed(owner, owner_web) -> None:
    run = start(ux_only_flow(owner))
    response = owner_web.post(f"/runs/{run.pk}/cancel/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/runs/{run.pk}/"


def test_the_admin_run_page_shows_the_run_view_above_the_record(owner, staff_web) -> None:
    run = start(split_flow(owner), {"items": [1, 2]})
    response = staff_web.get(f"/admin/flows/run/{run.pk}/change/", {"node": "w_1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="run-view"' in page
    assert f'data-state-url="/admin/flows/run/{run.pk}/state/"' in page
    assert 'class="node-panel" data-node-id="w_1"' in page
    assert "<table><thead><tr><th>node</th>" in page  # the engine's table stays
    assert embedded_state(page)["instances"]["w"]["text"] == "2 running"
    assert staff_web.get(f"/admin/flows/run/{run.pk}/state/").json()["status"] == "running"


def test_admin_actions_need_the_change_permission(owner, staff_web, client) -> None:
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_run"))
    client.force_login(viewer)
    run = start(ux_only_flow(owner))
    assert client.get(f"/admin/flows/run/{run.pk}/state/").status_code == 200
    assert client.post(f"/admin/flows/run/{run.pk}/cancel/").status_code == 403
    assert Run.objects.get(pk=run.pk).status == "waiting"
    response = staff_web.post(f"/admin/flows/run/{run.pk}/cancel/")
    assert response["Location"] == f"/admin/flows/run/{run.pk}/change/"
    assert Run.objects.get(pk=run.pk).status == "cancelled"


def test_a_huge_input_is_shown_cut_with_a_note(owner, owner_web) -> None:
    run = start(ux_only_flow(owner), {"blob": "x" * 50_000})
    panel = owner_web.get(f"/runs/{run.pk}/node/", {"id": "review"}).content.decode()
    # Input and output (a waiting UX node holds its input as output) are both cut.
    assert panel.count("characters; the API has all of it)") == 2
    shown = re.search(r'<pre class="json" id="node-input">(.*?)</pre>', panel, re.S)
    assert shown and len(shown.group(1)) < 21_000


def test_the_owner_lists_their_runs_newest_first(owner, other, owner_web) -> None:
    older = start(ux_only_flow(owner))
    newer = start(split_flow(owner), {"items": [1]})
    start(ux_only_flow(other))
    page = owner_web.get("/runs/").content.decode()
    assert re.findall(r'<tr class="run" data-run-id="([^"]+)">', page) == [
        str(newer.pk),
        str(older.pk),
    ]
    waiting = owner_web.get("/runs/", {"status": "waiting"}).content.decode()
    assert re.findall(r'data-run-id="([^"]+)"', waiting) == [str(older.pk)]
    assert owner_web.get("/runs/", {"status": "lost"}).status_code == 400


def test_the_run_list_pages_keep_the_status_filter(owner, owner_web) -> None:
    flow = ux_only_flow(owner)
    for _ in range(51):
        start(flow)
    page = owner_web.get("/runs/", {"status": "waiting"}).content.decode()
    assert "page 1 of 2" in page
    assert 'href="?status=waiting&amp;page=2"' in page
    second = owner_web.get("/runs/", {"status": "waiting", "page": 2}).content.decode()
    assert len(re.findall(r'<tr class="run"', second)) == 1
