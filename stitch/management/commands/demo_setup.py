"""`manage.py demo_setup`: an idempotent demo — a BMC canvas, a child workflow, a Stripe
webhook config, a few entities on nodes and edges, and an operator account.

Running it again changes nothing: every object is looked up by a natural key first.
The operator's password comes from DEMO_PASSWORD, else it is generated once and kept
in var/demo-credentials.txt so every run prints the same working credentials.
"""

from __future__ import annotations

import os
import secrets
import shlex
from itertools import pairwise
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from entities import services as movement
from entities.models import Entity
from flows import services as flow_services
from flows.demo_runs import demo_runs_ensure
from flows.layout import BMC_BLOCKS, block_slot
from flows.models import CanvasType, Flow
from flows.workers import worker_types
from stitch.models import User
from stitch.tokens import token_issue
from webhooks.models import WebhookConfig
from webhooks.validation import webhook_config_check

OPERATOR = "operator"
CANVAS_NAME = "Demo: Business Model Canvas"
WORKFLOW_NAME = "Demo: New customer onboarding"
WEBHOOK_SLUG = "demo-stripe"
ENTRY_EDGE = "e-segments-channels"

# The nine BMC blocks (flows.layout): each section names its block in `data.block`,
# and so does every item, which the canvas draws inside that block.
BMC_SECTIONS = [(key, title) for key, title, *_ in BMC_BLOCKS]
# (block, item id, label): a few cards per block, as an operator would fill them in.
BMC_ITEMS = [
    ("key-partners", "item-stripe", "Stripe (payments)"),
    ("key-partners", "item-typeform", "Typeform (sign-up forms)"),
    ("key-activities", "item-onboarding-ops", "Onboarding operations"),
    ("key-resources", "item-worker-fleet", "Worker fleet"),
    ("value-propositions", "item-live-in-a-day", "Live in a day"),
    ("value-propositions", "item-see-every-customer", "See every customer move"),
    ("customer-relationships", "item-guided-onboarding", "Guided onboarding"),
    ("channels", "item-stripe-checkout", "Stripe checkout"),
    ("channels", "item-webinars", "Webinars"),
    ("customer-segments", "item-smb-founders", "SMB founders"),
    ("customer-segments", "item-agencies", "Agencies"),
    ("cost-structure", "item-hosting", "Hosting"),
    ("cost-structure", "item-support", "Support team"),
    ("revenue-streams", "item-monthly-plans", "Monthly plans"),
    ("revenue-streams", "item-onboarding-fee", "Onboarding fee"),
]
BMC_EDGES = [
    (ENTRY_EDGE, "customer-segments", "channels", "reached"),
    ("e-channels-relationships", "channels", "customer-relationships", "engaged"),
    ("e-relationships-revenue", "customer-relationships", "revenue-streams", "paying"),
    ("e-activities-value", "key-activities", "value-propositions", None),
]
# The drill-down: this BMC section opens the workflow, this workflow node the detail canvas.
WORKFLOW_OPENED_BY = "customer-relationships"
DETAIL_NAME = "Demo: Account review checklist"
DETAIL_OPENED_BY = "review"
# (name, email, where): a node id, or (edge id, progress) for one still travelling.
DEMO_ENTITIES: list[tuple[str, str, Any]] = [
    ("Ada Lovelace", "ada@example.com", "customer-segments"),
    ("Grace Hopper", "grace@example.com", (ENTRY_EDGE, "0.40")),
    ("Alan Turing", "alan@example.com", "customer-relationships"),
    ("Katherine Johnson", "katherine@example.com", ("e-relationships-revenue", "0.75")),
]


def bmc_graph() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {
            "id": key,
            "type": "section",
            "position": block_slot(key, 0),
            "data": {"label": title, "block": key},
        }
        for key, title in BMC_SECTIONS
    ]
    per_block: dict[str, int] = {}
    for block, item_id, label in BMC_ITEMS:
        index = per_block[block] = per_block.get(block, -1) + 1
        nodes.append(
            {
                "id": item_id,
                "type": "item",
                "position": block_slot(block, index),
                "data": {"label": label, "block": block},
            }
        )
    edges = [
        {"id": eid, "source": s, "target": t, **({"data": {"label": label}} if label else {})}
        for eid, s, t, label in BMC_EDGES
    ]
    return {"nodes": nodes, "edges": edges}


# The form the task inbox shows for the review step (data.fields of a UX node).
REVIEW_FIELDS = [
    {"name": "approved", "type": "boolean", "label": "Approve the account"},
    {"name": "note", "type": "text", "label": "Note for the customer file", "required": True},
]


def workflow_graph() -> dict[str, Any]:
    # The built-in echo worker needs nothing running; without it (engine not
    # loaded) fall back to an HTTP worker URL on this machine.
    if "echo" in worker_types():
        worker: dict[str, Any] = {"label": "Enrich customer", "workerType": "echo"}
    else:
        worker = {"label": "Enrich customer", "webhookUrl": "http://127.0.0.1:8001/echo"}
    return {
        "nodes": [
            {"id": "enrich", "type": "Worker", "position": {"x": 0, "y": 0}, "data": worker},
            {
                "id": "review",
                "type": "UX",
                "position": {"x": 260, "y": 0},
                "data": {"label": "Operator reviews the account", "fields": REVIEW_FIELDS},
            },
        ],
        "edges": [{"id": "e-enrich-review", "source": "enrich", "target": "review"}],
    }


def detail_graph() -> dict[str, Any]:
    """What the UX review step checks, drawn as a small canvas of its own."""
    steps = [
        ("identity", "Identity verified"),
        ("plan", "Plan matches the payment"),
        ("welcome-call", "Welcome call booked"),
    ]
    nodes: list[dict[str, Any]] = [
        {"id": nid, "type": "item", "position": {"x": i * 240, "y": 0}, "data": {"label": label}}
        for i, (nid, label) in enumerate(steps)
    ]
    nodes.append(
        {
            "id": "note-team-size",
            "type": "note",
            "position": {"x": 240, "y": 130},
            "data": {"label": "Ask about the team size"},
        }
    )
    edges = [{"id": f"e-{a}-{b}", "source": a, "target": b} for (a, _), (b, _) in pairwise(steps)]
    return {"nodes": nodes, "edges": edges}


def linked(graph: dict[str, Any], node_id: str, child: Flow) -> dict[str, Any]:
    """`graph` with node `node_id` opening `child` (data.childFlowId)."""
    nodes = [
        n | {"data": {**n.get("data", {}), "childFlowId": str(child.pk)}}
        if n["id"] == node_id
        else n
        for n in graph["nodes"]
    ]
    return {**graph, "nodes": nodes}


STRIPE_MAPPING = {
    "name": "$.data.object.customer_details.name",
    "email": "$.data.object.customer_details.email",
    "entity_type": "customer",
    "metadata": {
        "plan": "$.data.object.metadata.plan",
        "amount_total": "$.data.object.amount_total",
    },
}


class Credentials:
    """key=value lines in var/demo-credentials.txt, created once, reused by reruns."""

    def __init__(self, path: Path):
        self.path = path
        self.values: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    self.values[key.strip()] = value.strip()

    def get(self, key: str, make: Any) -> str:
        if key not in self.values:
            self.values[key] = make()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("".join(f"{k}={v}\n" for k, v in self.values.items()))
            self.path.chmod(0o600)
        return self.values[key]


class Command(BaseCommand):
    help = "Create the demo canvas, workflow, webhook, entities and operator (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        creds = Credentials(Path(settings.VAR_DIR) / "demo-credentials.txt")
        password = os.environ.get("DEMO_PASSWORD") or creds.get(
            "password", lambda: secrets.token_urlsafe(12)
        )
        secret = creds.get("webhook_secret", lambda: "whsec_demo_" + secrets.token_hex(16))
        with transaction.atomic():
            operator = self.operator(password)
            token = token_issue(user=operator).key
            canvas, workflow = self.canvases(operator)
            hook = self.webhook(canvas, workflow, secret)
            for name, email, where in DEMO_ENTITIES:
                self.entity(canvas, name, email, where)
        # After the commit: a run completed and one waiting in the task inbox.
        demo_runs_ensure(workflow=workflow, canvas=canvas)
        self.report(password, token, canvas, hook)

    def operator(self, password: str) -> User:
        user, _ = User.objects.get_or_create(
            username=OPERATOR,
            defaults={"email": "operator@example.com", "is_staff": True, "is_superuser": True},
        )
        # The printed password must work even if someone changed it in between.
        if not user.check_password(password) or not (user.is_staff and user.is_superuser):
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        return user

    def canvases(self, operator: User) -> tuple[Flow, Flow]:
        """The BMC, its workflow and the workflow's detail canvas, each opened from a
        node of its parent. Links are added when the child is created (a child cannot
        exist before its parent), so an operator's later edits survive a rerun."""
        canvas, new_canvas = self.flow(operator, CANVAS_NAME, CanvasType.BMC, bmc_graph(), None)
        if not new_canvas and not any(
            isinstance(n.get("data"), dict) and "block" in n["data"]
            for n in canvas.graph.get("nodes", [])
        ):
            # A demo made before the nine-block layout: same ids, now in their blocks.
            canvas = flow_services.flow_update(flow=canvas, graph=bmc_graph())
            new_canvas = True
        workflow, new_workflow = self.flow(
            operator, WORKFLOW_NAME, CanvasType.WORKFLOW, workflow_graph(), canvas
        )
        if new_workflow or new_canvas:
            graph = linked(canvas.graph, WORKFLOW_OPENED_BY, workflow)
            canvas = flow_services.flow_update(flow=canvas, graph=graph)
        detail, new_detail = self.flow(
            operator, DETAIL_NAME, CanvasType.DETAIL, detail_graph(), workflow
        )
        if new_detail:
            graph = linked(workflow.graph, DETAIL_OPENED_BY, detail)
            workflow = flow_services.flow_update(flow=workflow, graph=graph)
        return canvas, workflow

    def flow(
        self, owner: User, name: str, kind: str, graph: dict[str, Any], parent: Flow | None
    ) -> tuple[Flow, bool]:
        existing = Flow.objects.filter(owner=owner, name=name, canvas_type=kind).first()
        if existing is not None:
            return existing, False
        created = flow_services.flow_create(
            owner=owner, name=name, graph=graph, canvas_type=kind, parent=parent
        )
        return created, True

    def webhook(self, canvas: Flow, workflow: Flow, secret: str) -> WebhookConfig:
        existing = WebhookConfig.objects.filter(endpoint_slug=WEBHOOK_SLUG).first()
        if existing is not None:
            return existing
        fields: dict[str, Any] = {
            "canvas": canvas,
            "workflow": workflow,
            "entry_edge_id": ENTRY_EDGE,
            "entity_mapping": STRIPE_MAPPING,
            "source": "stripe",
            "secret": secret,
            "endpoint_slug": WEBHOOK_SLUG,
        }
        webhook_config_check(**fields)
        return WebhookConfig.objects.create(name="Demo: Stripe checkouts", **fields)

    def entity(self, canvas: Flow, name: str, email: str, where: Any) -> None:
        if Entity.objects.filter(canvas=canvas, email=email).exists():
            return
        entity = Entity.objects.create(
            canvas=canvas, name=name, email=email, entity_type="customer", metadata={}
        )
        # Through the movement services, so each demo entity has a real journey.
        if isinstance(where, tuple):
            edge_id, progress = where
            movement.entity_journey_start(entity_id=entity.pk, edge_id=edge_id)
            movement.entity_progress(entity_id=entity.pk, progress=progress)
        else:
            movement.entity_journey_start(entity_id=entity.pk, edge_id=ENTRY_EDGE)
            movement.entity_arrive(entity_id=entity.pk)
            if where != "channels":
                movement.entity_manual_move(entity_id=entity.pk, node_id=where)

    def report(self, password: str, token: str, canvas: Flow, hook: WebhookConfig) -> None:
        base = settings.PUBLIC_BASE_URL
        auth = shlex.quote(f"Authorization: Token {token}")
        lines = [
            "",
            "Stitch demo is ready.",
            f"  Admin:     {base}/admin/",
            f"  Username:  {OPERATOR}",
            f"  Password:  {password}",
            f"  API token: {token}",
            f"  API docs:  {base}/api/docs/",
            f"  Canvas:    {base}/flows/{canvas.pk}/live/",
            f"  Tasks:     {base}/admin/flows/run/tasks/ (runs: {base}/admin/flows/run/)",
            f"  Webhook:   {base}/api/webhooks/{hook.endpoint_slug}/ (Stripe-signed, see admin)",
            f"  Try:       curl -H {auth} {base}/api/flows/",
            "",
        ]
        self.stdout.write("\n".join(lines))
