"""Something of everything for hostile requests to aim at: a user with an API token, a
canvas, a workflow with a run waiting for a worker's callback and one waiting for a
person, an entity, a media item and webhook configs. Created in the test's own database
transaction (tests use `transactional_db`), so the running server sees it."""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine import run_start
from flows.engine.tokens import callback_token
from flows.models import RunNode
from tests.factories import (
    CanvasFactory,
    EntityFactory,
    FlowFactory,
    JourneyEventFactory,
    MediaFactory,
    UserFactory,
    WebhookConfigFactory,
    WebhookEventFactory,
)

PASSWORD = "pw-for-tests"
STRIPE_SECRET = "whsec_hostile_stripe_secret"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def ux_workflow() -> dict:
    return {
        "nodes": [
            {"id": "review", "type": "UX", "position": {"x": 0, "y": 0}, "data": {"label": "R"}}
        ],
        "edges": [],
    }


@dataclass(frozen=True)
class World:
    username: str
    token: str
    canvas: str
    workflow: str
    entity: str
    media: str
    run: str
    run_node: str
    callback_token: str
    ux_run: str
    ux_node: str
    config: str
    event: str
    journey_event: str
    open_slug: str  # a generic config that takes unsigned deliveries
    stripe_slug: str
    standard_slug: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def world_create() -> World:
    user = UserFactory.create()
    canvas = CanvasFactory.create(owner=user)
    # Workers that are never reached: the server runs no jobs, the run just waits.
    workflow = FlowFactory.create(owner=user)
    ux = FlowFactory.create(owner=user, graph=ux_workflow())
    run = run_start(flow=workflow, input={"hello": "world"})
    ux_run = run_start(flow=ux, input={})

    def config(**fields: object) -> str:
        made = WebhookConfigFactory.create(canvas=canvas, workflow=workflow, **fields)
        return made.endpoint_slug

    open_config = WebhookConfigFactory.create(
        canvas=canvas, workflow=workflow, secret=None, require_signature=False
    )
    entity = EntityFactory.create(canvas=canvas)
    return World(
        username=user.username,
        token=user.auth_token.key,
        canvas=str(canvas.pk),
        workflow=str(workflow.pk),
        entity=str(entity.pk),
        media=str(MediaFactory.create(user=user).pk),
        run=str(run.pk),
        run_node="a",
        callback_token=callback_token(
            run.pk, "a", RunNode.objects.get(run=run, node_id="a").attempts
        ),
        ux_run=str(ux_run.pk),
        ux_node="review",
        config=str(open_config.pk),
        event=str(WebhookEventFactory.create(webhook_config=open_config).pk),
        journey_event=str(JourneyEventFactory.create(entity=entity).pk),
        open_slug=open_config.endpoint_slug,
        stripe_slug=config(source="stripe", secret=STRIPE_SECRET),
        standard_slug=config(source="standard", secret=STANDARD_SECRET),
    )
