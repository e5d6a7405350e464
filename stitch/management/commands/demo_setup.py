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
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from entities import services as movement
from entities.models import Entity
from flows import services as flow_services
from flows.demo_runs import demo_runs_ensure
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

# The nine BMC sections on the usual 5-column grid (x, y in canvas units).
BMC_SECTIONS = [
    ("key-partners", "Key Partners", 0, 0),
    ("key-activities", "Key Activities", 240, 0),
    ("key-resources", "Key Resources", 240, 200),
    ("value-propositions", "Value Propositions", 480, 0),
    ("customer-relationships", "Customer Relationships", 720, 0),
    ("channels", "Channels", 720, 200),
    ("customer-segments", "Customer Segments", 960, 0),
    ("cost-structure", "Cost Structure", 120, 420),
    ("revenue-streams", "Revenue Streams", 720, 420),
]
BMC_EDGES = [
    (ENTRY_EDGE, "customer-segments", "channels", "reached"),
    ("e-channels-relationships", "channels", "customer-relationships", "engaged"),
    ("e-relationships-revenue", "customer-relationships", "revenue-streams", "paying"),
    ("e-activities-value", "key-activities", "value-propositions", None),
]
# (name, email, where): a node id, or (edge id, progress) for one still travelling.
DEMO_ENTITIES: list[tuple[str, str, Any]] = [
    ("Ada Lovelace", "ada@example.com", "customer-segments"),
    ("Grace Hopper", "grace@example.com", (ENTRY_EDGE, "0.40")),
    ("Alan Turing", "alan@example.com", "customer-relationships"),
    ("Katherine Johnson", "katherine@example.com", ("e-relationships-revenue", "0.75")),
]


def bmc_graph() -> dict[str, Any]:
    nodes = [
        {"id": nid, "type": "bmcSection", "position": {"x": x, "y": y}, "data": {"label": label}}
        for nid, label, x, y in BMC_SECTIONS
    ]
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
            canvas = self.flow(operator, CANVAS_NAME, CanvasType.BMC, bmc_graph(), None)
            workflow = self.flow(
                operator, WORKFLOW_NAME, CanvasType.WORKFLOW, workflow_graph(), canvas
            )
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

    def flow(
        self, owner: User, name: str, kind: str, graph: dict[str, Any], parent: Flow | None
    ) -> Flow:
        existing = Flow.objects.filter(owner=owner, name=name, canvas_type=kind).first()
        if existing is not None:
            return existing
        return flow_services.flow_create(
            owner=owner, name=name, graph=graph, canvas_type=kind, parent=parent
        )

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
