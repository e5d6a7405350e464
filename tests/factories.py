"""factory-boy factories for every model."""

from __future__ import annotations

import factory
from rest_framework.authtoken.models import Token

from entities.models import Entity, JourneyEvent
from flows import services as flow_services
from flows.models import Flow, Run
from media.models import Media
from stitch.models import User
from webhooks.models import WebhookConfig, WebhookEvent


def bmc_graph() -> dict:
    return {
        "nodes": [
            {
                "id": "leads",
                "type": "section",
                "position": {"x": 0, "y": 0},
                "data": {"label": "Leads"},
            },
            {
                "id": "customers",
                "type": "section",
                "position": {"x": 300, "y": 0},
                "data": {"label": "Customers"},
            },
            {
                "id": "churned",
                "type": "section",
                "position": {"x": 600, "y": 0},
                "data": {"label": "Churned"},
            },
        ],
        "edges": [
            {"id": "e-leads-customers", "source": "leads", "target": "customers"},
            {"id": "e-customers-churned", "source": "customers", "target": "churned"},
        ],
    }


def linear_workflow_graph(url: str = "http://127.0.0.1:9/worker") -> dict:
    return {
        "nodes": [
            {
                "id": "a",
                "type": "Worker",
                "position": {"x": 0, "y": 0},
                "data": {"label": "A", "webhookUrl": url},
            },
            {
                "id": "b",
                "type": "Worker",
                "position": {"x": 200, "y": 0},
                "data": {"label": "B", "webhookUrl": url},
            },
        ],
        "edges": [{"id": "a-b", "source": "a", "target": "b"}],
    }


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def token(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()  # type: ignore[attr-defined]
            Token.objects.get_or_create(user=self)


class FlowFactory(factory.django.DjangoModelFactory[Flow]):
    """A flow created through the service, so workflows get their first version."""

    class Meta:
        model = Flow

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Flow {n}")
    canvas_type = "workflow"
    graph = factory.LazyFunction(linear_workflow_graph)
    parent = None

    @classmethod
    def _create(cls, model_class: type[Flow], *args: object, **kwargs: object) -> Flow:
        return flow_services.flow_create(**kwargs)  # type: ignore[arg-type]


class CanvasFactory(FlowFactory):
    canvas_type = "bmc"
    graph = factory.LazyFunction(bmc_graph)


class RunFactory(factory.django.DjangoModelFactory[Run]):
    class Meta:
        model = Run

    flow = factory.SubFactory(FlowFactory)
    flow_version = factory.LazyAttribute(lambda run: run.flow.current_version)
    input = factory.LazyFunction(dict)


class EntityFactory(factory.django.DjangoModelFactory[Entity]):
    class Meta:
        model = Entity

    canvas = factory.SubFactory(CanvasFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    entity_type = "lead"
    metadata = factory.LazyFunction(dict)


class JourneyEventFactory(factory.django.DjangoModelFactory[JourneyEvent]):
    class Meta:
        model = JourneyEvent

    entity = factory.SubFactory(EntityFactory)
    canvas = factory.LazyAttribute(lambda event: event.entity.canvas)
    event_type = "node_arrival"
    node_id = "leads"


class WebhookConfigFactory(factory.django.DjangoModelFactory[WebhookConfig]):
    class Meta:
        model = WebhookConfig

    canvas = factory.SubFactory(CanvasFactory)
    workflow = factory.LazyAttribute(lambda config: FlowFactory(owner=config.canvas.owner))
    name = factory.Sequence(lambda n: f"Hook {n}")
    source = "generic"
    endpoint_slug = factory.Sequence(lambda n: f"hook-{n}")
    secret = "whsec-test-secret"
    entry_edge_id = "e-leads-customers"
    entity_mapping = factory.LazyFunction(
        lambda: {"name": "$.customer.name", "email": "$.customer.email", "entity_type": "lead"}
    )


class WebhookEventFactory(factory.django.DjangoModelFactory[WebhookEvent]):
    class Meta:
        model = WebhookEvent

    webhook_config = factory.SubFactory(WebhookConfigFactory)
    payload = factory.LazyFunction(lambda: {"id": "evt_1"})
    provider_event_id = factory.Sequence(lambda n: f"evt_{n}")


class MediaFactory(factory.django.DjangoModelFactory[Media]):
    class Meta:
        model = Media

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"file{n}.png")
    media_type = "image"
    file_path = factory.LazyAttribute(lambda m: f"{m.user.id}/image/{m.name}")
    mime_type = "image/png"
    file_size = 100
    tags = factory.LazyFunction(list)
