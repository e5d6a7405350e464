"""Run view and inbox test helpers: web clients signed in as the fixed cast, workflows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from flows import engine
from flows.models import Flow, Run
from stitch.models import User
from tests.engine.conftest import edge
from tests.factories import FlowFactory, UserFactory

UNUSED_WORKER = "http://127.0.0.1:9/worker"  # never called: these runs stop before dispatch


def web_client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owner_web(owner: User) -> Client:
    return web_client(owner)


@pytest.fixture
def other_web(other: User) -> Client:
    return web_client(other)


@pytest.fixture
def staff() -> User:
    return UserFactory.create(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_web(staff: User) -> Client:
    return web_client(staff)


def step(node_id: str, kind: str, x: float, y: float = 0, **data: Any) -> dict[str, Any]:
    """A graph node placed at (x, y), so the run view's picture is readable."""
    return {
        "id": node_id,
        "type": kind,
        "position": {"x": x, "y": y},
        "data": {"label": data.pop("label", node_id), **data},
    }


def workflow(owner: User, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Flow:
    return FlowFactory.create(owner=owner, graph={"nodes": nodes, "edges": edges})


REVIEW_FIELDS: list[dict[str, Any]] = [
    {"name": "approved", "type": "boolean", "label": "Approve"},
    {"name": "amount", "type": "number", "label": "Amount", "required": True},
    {"name": "note", "type": "text", "label": "Note"},
    {"name": "plan", "type": "select", "label": "Plan", "options": ["starter", "pro"]},
    {"name": "due", "type": "date", "label": "Due"},
]


def review_flow(owner: User, fields: list[dict[str, Any]] | None = None) -> Flow:
    """A UX step (with `data.fields` when given) followed by a Worker."""
    data: dict[str, Any] = {"fields": fields} if fields is not None else {}
    return workflow(
        owner,
        [
            step("review", "UX", 0, label="Review", **data),
            step("after", "Worker", 260, label="After", webhookUrl=UNUSED_WORKER),
        ],
        [edge("review", "after")],
    )


def ux_only_flow(owner: User, fields: list[dict[str, Any]] | None = None) -> Flow:
    data: dict[str, Any] = {"fields": fields} if fields is not None else {}
    return workflow(owner, [step("review", "UX", 0, label="Review", **data)], [])


def split_flow(owner: User) -> Flow:
    """Splitter -> Worker -> Collector: one `w_{i}` instance per element of `items`."""
    return workflow(
        owner,
        [
            step("s", "Splitter", 0, label="Split", arrayPath="$.items"),
            step("w", "Worker", 260, label="Work", webhookUrl=UNUSED_WORKER),
            step("c", "Collector", 520, label="Collect"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )


def start(flow: Flow, run_input: Any = None, **kwargs: Any) -> Run:
    return engine.run_start(flow=flow, input=run_input, **kwargs)


def finish(run: Run, node_id: str, status: str = "completed", **result: Any) -> None:
    """What a worker's callback does (the callback endpoint calls this service)."""
    engine.callback_apply(run_id=run.pk, node_id=node_id, status=status, **result)
