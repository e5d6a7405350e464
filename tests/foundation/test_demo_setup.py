"""`manage.py demo_setup` builds a usable demo and a second run changes nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from entities.models import Entity, JourneyEvent
from flows.models import Flow, FlowVersion
from stitch.models import User
from webhooks.models import WebhookConfig

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    return tmp_path


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def printed(output: str, label: str) -> str:
    match = re.search(rf"{label}:\s+(\S+)", output)
    assert match, output
    return match.group(1)


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Flow, FlowVersion, WebhookConfig, Entity, JourneyEvent)
    }


def test_the_demo_has_a_canvas_a_child_workflow_a_webhook_and_placed_entities() -> None:
    run_demo()
    canvas = Flow.objects.get(canvas_type="bmc")
    sections = [n for n in canvas.graph["nodes"] if n["type"] == "section"]
    assert len(sections) == 9
    assert {n["data"]["label"] for n in sections} >= {
        "Customer Segments",
        "Channels",
        "Customer Relationships",
        "Revenue Streams",
    }
    workflow = Flow.objects.get(canvas_type="workflow")
    assert workflow.parent == canvas
    assert workflow.current_version is not None
    hook = WebhookConfig.objects.get(endpoint_slug="demo-stripe")
    assert (hook.source, hook.canvas, hook.workflow) == ("stripe", canvas, workflow)
    assert hook.secret
    assert hook.entry_edge_id in {e["id"] for e in canvas.graph["edges"]}
    entities = Entity.objects.filter(canvas=canvas)
    assert entities.filter(current_node_id__isnull=False).count() >= 2
    assert entities.filter(current_edge_id__isnull=False).count() >= 2
    for entity in entities:
        assert JourneyEvent.objects.filter(entity=entity).exists()
        assert entity.journey


def test_running_it_twice_changes_nothing_and_prints_the_same_credentials() -> None:
    first = run_demo()
    before = counts()
    second = run_demo()
    assert counts() == before
    for label in ("Password", "API token"):
        assert printed(first, label) == printed(second, label)


def test_the_printed_credentials_work(var_dir: Path) -> None:
    output = run_demo()
    client = Client()
    # Through the login page, as the operator would (login throttling watches it).
    login = {"username": printed(output, "Username"), "password": printed(output, "Password")}
    assert client.post("/accounts/login/", login).status_code == 302
    assert client.get("/admin/flows/flow/").status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {printed(output, 'API token')}")
    names = {f["name"] for f in api.get("/api/flows/").json()["results"]}
    assert len(names) == 3  # the BMC, its workflow, the workflow's detail canvas
    assert "curl -H 'Authorization: Token " in output
    assert "password=" in (var_dir / "demo-credentials.txt").read_text()


def test_demo_password_comes_from_the_environment_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "correct-horse-battery")
    output = run_demo()
    assert printed(output, "Password") == "correct-horse-battery"
    assert User.objects.get(username="operator").check_password("correct-horse-battery")
