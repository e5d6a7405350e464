"""The running server, sent crafted values in every kind of body it reads (SPEC 7, 10):
each answer is a 4xx naming the problem, no answer is a 5xx, and `/healthz` stays up."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.hostile.conftest import LiveServer
from tests.hostile.crafted import CRAFTED, SLOT, Crafted, with_crafted
from tests.hostile.world import World, world_create
from tests.media import samples

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Target:
    """One endpoint that reads a JSON body, and where in it the crafted value goes."""

    name: str
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any]
    authenticated: bool = True


def _node(label: Any) -> dict:
    return {"id": "n1", "type": "note", "position": {"x": 0, "y": 0}, "data": {"label": label}}


TARGETS = [
    Target(
        "entity create",
        "POST",
        lambda w: "/api/entities/",
        lambda w: {"canvas_id": w.canvas, "name": "Ann", "entity_type": "lead", "metadata": SLOT},
    ),
    Target(
        "entity edit",
        "PATCH",
        lambda w: f"/api/entities/{w.entity}/",
        lambda w: {"metadata": {"note": SLOT}},
    ),
    Target(
        "entity move",
        "POST",
        lambda w: f"/api/entities/{w.entity}/move/",
        lambda w: {"node_id": "customers", "metadata": {"note": SLOT}},
    ),
    Target(
        "flow create",
        "POST",
        lambda w: "/api/flows/",
        lambda w: {
            "name": "F",
            "canvas_type": "bmc",
            "graph": {"nodes": [_node(SLOT)], "edges": []},
        },
    ),
    Target(
        "graph edit",
        "PATCH",
        lambda w: f"/api/flows/{w.canvas}/",
        lambda w: {"graph": {"nodes": [_node(SLOT)], "edges": []}},
    ),
    Target(
        "run start",
        "POST",
        lambda w: f"/api/flows/{w.workflow}/runs/",
        lambda w: {"input": {"x": SLOT}},
    ),
    Target(
        "run callback",
        "POST",
        lambda w: f"/api/runs/{w.run}/nodes/{w.run_node}/callback/?token={w.callback_token}",
        lambda w: {"status": "completed", "output": {"x": SLOT}},
        authenticated=False,
    ),
    Target(
        "task complete",
        "POST",
        lambda w: f"/api/runs/{w.ux_run}/nodes/{w.ux_node}/complete/",
        lambda w: {"output": {"x": SLOT}},
    ),
    Target(
        "media metadata",
        "PATCH",
        lambda w: f"/api/media/{w.media}/",
        lambda w: {"metadata": {"x": SLOT}},
    ),
    Target(
        "webhook config",
        "POST",
        lambda w: "/api/webhook-configs/",
        lambda w: {
            "canvas_id": w.canvas,
            "workflow_id": w.workflow,
            "name": "hook",
            "source": "generic",
            "entry_edge_id": "e-leads-customers",
            "entity_mapping": {"name": SLOT},
        },
    ),
    Target(
        "auth token",
        "POST",
        lambda w: "/api/auth/token/",
        lambda w: {"username": SLOT, "password": "wrong"},
        authenticated=False,
    ),
    Target(
        "webhook intake",
        "POST",
        lambda w: f"/api/webhooks/{w.open_slug}/",
        lambda w: {"id": "evt_crafted", "customer": {"name": SLOT}},
        authenticated=False,
    ),
]


@pytest.fixture
def world(server: LiveServer) -> World:
    return world_create()


def problem_of(response: httpx.Response, crafted: Crafted) -> str | None:
    """Why this answer is not a 4xx naming the problem (None when it is)."""
    if not 400 <= response.status_code < 500:
        return f"answered {response.status_code}: {response.text[:300]}"
    try:
        answer = response.json()
    except ValueError:
        return f"{response.status_code} is not JSON: {response.text[:300]}"
    text = json.dumps(answer)
    if not any(word.lower() in text.lower() for word in crafted.words):
        return f"{response.status_code} does not name the problem: {text[:300]}"
    return None


@pytest.mark.parametrize("crafted", CRAFTED.values(), ids=CRAFTED.keys())
def test_every_json_endpoint_refuses_the_crafted_value_with_a_4xx_naming_it(
    server: LiveServer, world: World, crafted: Crafted
) -> None:
    problems = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for target in TARGETS:
            response = client.request(
                target.method,
                target.path(world),
                content=with_crafted(target.body(world), crafted),
                headers={
                    "Content-Type": "application/json",
                    **(world.auth if target.authenticated else {}),
                },
            )
            problem = problem_of(response, crafted)
            if problem:
                problems[target.name] = problem
    assert problems == {}
    assert server.healthy()


@pytest.mark.parametrize("crafted", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_media_upload_refuses_crafted_metadata_with_a_4xx_naming_it(
    server: LiveServer, world: World, crafted: Crafted
) -> None:
    metadata = with_crafted({"x": SLOT}, crafted).decode()
    response = httpx.post(
        f"{server.url}/api/media/",
        headers=world.auth,
        files={"file": ("pixel.png", samples.png((4, 4)), "image/png")},
        data={"metadata": metadata},
        timeout=30,
    )
    assert problem_of(response, crafted) is None
