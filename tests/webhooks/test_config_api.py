"""`/api/webhook-configs/`: validated on save, secret write-only, endpoint URL shown."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from stitch.models import User
from tests.factories import CanvasFactory, FlowFactory, WebhookConfigFactory
from webhooks.models import WebhookConfig

pytestmark = pytest.mark.django_db


def config_body(owner: User, **overrides: Any) -> dict[str, Any]:
    body = {
        "canvas_id": str(CanvasFactory.create(owner=owner).id),
        "workflow_id": str(FlowFactory.create(owner=owner).id),
        "name": "Stripe checkouts",
        "source": "stripe",
        "endpoint_slug": "stripe-checkouts",
        "secret": "whsec_abc",
        "entry_edge_id": "e-leads-customers",
        "entity_mapping": {
            "name": "$.customer.name",
            "email": "$.customer.email",
            "entity_type": "customer",
            "metadata": {"plan": "$.plan"},
        },
    }
    body.update(overrides)
    return body


def test_a_valid_config_is_created_with_its_url_and_without_its_secret(
    owner: User, owner_client: APIClient
) -> None:
    response = owner_client.post("/api/webhook-configs/", config_body(owner), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["endpoint_url"].endswith(f"/api/webhooks/{body['endpoint_slug']}/")
    assert body["endpoint_url"].startswith("http")
    assert "secret" not in body and body["has_secret"] is True
    assert WebhookConfig.objects.get().secret == "whsec_abc"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"entry_edge_id": "no-such-edge"}, "entry_edge_id", "no-such-edge"),
        ({"endpoint_slug": "has spaces/and slash"}, "endpoint_slug", "letters"),
        ({"endpoint_slug": ""}, "endpoint_slug", ""),
        (
            {"entity_mapping": {"name": "$.a[", "metadata": {}}},
            "entity_mapping",
            "name: cannot parse",
        ),
        (
            {"entity_mapping": {"name": "$.a", "metadata": {"plan": "$$bad"}}},
            "entity_mapping",
            "metadata.plan: cannot parse",
        ),
        ({"entity_mapping": {"nmae": "$.a"}}, "entity_mapping", "nmae: unknown key"),
        ({"entity_mapping": {"name": 5}}, "entity_mapping", "name"),
        ({"entity_mapping": ["$.a"]}, "entity_mapping", "object"),
        ({"source": "standard", "secret": "whsec_%%%"}, "secret", "base64"),
    ],
)
def test_a_bad_config_is_400_naming_the_field(
    owner: User, owner_client: APIClient, overrides: dict, field: str, words: str
) -> None:
    response = owner_client.post(
        "/api/webhook-configs/", config_body(owner, **overrides), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert words in " ".join(map(str, errors[field]))
    assert not WebhookConfig.objects.exists()


def test_the_workflow_must_be_a_workflow(owner: User, owner_client: APIClient) -> None:
    bmc = CanvasFactory.create(owner=owner)
    body = config_body(owner, workflow_id=str(bmc.id))
    response = owner_client.post("/api/webhook-configs/", body, format="json")
    assert response.status_code == 400
    assert "not a workflow" in response.json()["workflow_id"][0]


def test_another_users_workflow_or_canvas_is_refused(
    owner: User, other: User, owner_client: APIClient
) -> None:
    theirs = FlowFactory.create(owner=other)
    response = owner_client.post(
        "/api/webhook-configs/", config_body(owner, workflow_id=str(theirs.id)), format="json"
    )
    assert response.status_code == 400 and "workflow_id" in response.json()
    their_canvas = CanvasFactory.create(owner=other)
    response = owner_client.post(
        "/api/webhook-configs/", config_body(owner, canvas_id=str(their_canvas.id)), format="json"
    )
    assert response.status_code == 400 and "canvas_id" in response.json()


SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def test_a_config_without_a_slug_gets_an_unguessable_one(
    owner: User, owner_client: APIClient
) -> None:
    slugs = set()
    for _ in range(2):
        body = config_body(owner)
        del body["endpoint_slug"]
        response = owner_client.post("/api/webhook-configs/", body, format="json")
        assert response.status_code == 201, response.content
        slug = response.json()["endpoint_slug"]
        assert SLUG.match(slug) and len(slug) >= 24
        assert response.json()["endpoint_url"].endswith(f"/api/webhooks/{slug}/")
        slugs.add(slug)
    assert len(slugs) == 2


def test_a_chosen_slug_becomes_the_readable_start_of_an_unguessable_one(
    owner: User, owner_client: APIClient
) -> None:
    response = owner_client.post("/api/webhook-configs/", config_body(owner), format="json")
    slug = response.json()["endpoint_slug"]
    assert slug.startswith("stripe-checkouts-") and len(slug) >= len("stripe-checkouts-") + 16
    assert SLUG.match(slug)


def test_a_slug_another_user_owns_is_not_revealed(
    owner: User, other: User, owner_client: APIClient
) -> None:
    theirs = WebhookConfigFactory.create(
        canvas=CanvasFactory.create(owner=other), endpoint_slug="taken"
    )
    free = owner_client.post(
        "/api/webhook-configs/", config_body(owner, endpoint_slug="free"), format="json"
    )
    taken = owner_client.post(
        "/api/webhook-configs/", config_body(owner, endpoint_slug="taken"), format="json"
    )
    # Same answer either way: nothing tells the caller that "taken" exists.
    assert (free.status_code, taken.status_code) == (201, 201), taken.content
    assert taken.json()["endpoint_slug"].startswith("taken-")
    assert taken.json()["endpoint_slug"] != theirs.endpoint_slug
    assert WebhookConfig.objects.get(pk=theirs.pk).endpoint_slug == "taken"


def test_an_update_that_keeps_the_slug_keeps_the_url(owner: User, owner_client: APIClient) -> None:
    created = owner_client.post("/api/webhook-configs/", config_body(owner), format="json").json()
    url = f"/api/webhook-configs/{created['id']}/"
    same = owner_client.patch(url, {"endpoint_slug": created["endpoint_slug"]}, format="json")
    assert same.json()["endpoint_slug"] == created["endpoint_slug"]
    renamed = owner_client.patch(url, {"endpoint_slug": "renamed"}, format="json")
    assert renamed.json()["endpoint_slug"].startswith("renamed-")


def test_a_chosen_slug_too_long_to_leave_room_is_400(owner: User, owner_client: APIClient) -> None:
    body = config_body(owner, endpoint_slug="a" * 90)
    response = owner_client.post("/api/webhook-configs/", body, format="json")
    assert response.status_code == 400
    assert "endpoint_slug" in response.json()


def test_a_partial_update_is_checked_against_the_stored_config(
    owner: User, owner_client: APIClient
) -> None:
    created = owner_client.post("/api/webhook-configs/", config_body(owner), format="json")
    url = f"/api/webhook-configs/{created.json()['id']}/"
    bad = owner_client.patch(url, {"entry_edge_id": "nowhere"}, format="json")
    assert bad.status_code == 400 and "entry_edge_id" in bad.json()
    good = owner_client.patch(url, {"entry_edge_id": "e-customers-churned"}, format="json")
    assert good.status_code == 200
    assert WebhookConfig.objects.get().entry_edge_id == "e-customers-churned"


def test_an_empty_secret_removes_the_secret(owner: User, owner_client: APIClient) -> None:
    created = owner_client.post("/api/webhook-configs/", config_body(owner), format="json")
    url = f"/api/webhook-configs/{created.json()['id']}/"
    response = owner_client.patch(url, {"secret": ""}, format="json")
    assert response.status_code == 200 and response.json()["has_secret"] is False
    assert WebhookConfig.objects.get().secret is None


def test_configs_of_other_users_are_invisible(
    owner: User, other_client: APIClient, owner_client: APIClient
) -> None:
    created = owner_client.post("/api/webhook-configs/", config_body(owner), format="json")
    url = f"/api/webhook-configs/{created.json()['id']}/"
    assert other_client.get(url).status_code == 404
    assert other_client.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert other_client.get("/api/webhook-configs/").json()["count"] == 0
