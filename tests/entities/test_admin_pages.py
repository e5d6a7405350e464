"""Admin: the entity move action, the flow picture; the live page's access rules."""

from __future__ import annotations

import pytest
from django.test import Client

from entities.models import JourneyEvent
from tests.factories import CanvasFactory, EntityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    user = UserFactory.create(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    return user, browser


def test_the_move_action_asks_for_a_node_then_moves_every_selected_entity(operator) -> None:
    user, browser = operator
    canvas = CanvasFactory.create(owner=user)
    entities = [EntityFactory.create(canvas=canvas) for _ in range(2)]
    selected = [str(e.pk) for e in entities]
    url = "/admin/entities/entity/"
    form = browser.post(url, {"action": "move_entities", "_selected_action": selected})
    assert form.status_code == 200
    assert b"Move to node" in form.content and b"customers" in form.content

    done = browser.post(
        url,
        {
            "action": "move_entities",
            "_selected_action": selected,
            "node_id": "customers",
            "apply": "1",
        },
        follow=True,
    )
    assert b"Moved 2 entities to customers" in done.content
    for entity in entities:
        entity.refresh_from_db()
        assert entity.current_node_id == "customers"
    assert JourneyEvent.objects.filter(event_type="manual_move").count() == 2


def test_deleting_an_entity_in_the_admin_removes_it(operator) -> None:
    user, browser = operator
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=user))
    response = browser.post(f"/admin/entities/entity/{entity.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not type(entity).objects.filter(pk=entity.pk).exists()


def test_the_flow_page_draws_the_graph_with_its_entities_and_links_the_live_page(operator):
    user, browser = operator
    canvas = CanvasFactory.create(owner=user)
    entity = EntityFactory.create(canvas=canvas, current_node_id="leads")
    page = browser.get(f"/admin/flows/flow/{canvas.pk}/change/").content.decode()
    assert "<svg" in page
    for node in ("leads", "customers", "churned"):
        assert f'data-node-id="{node}"' in page
    assert 'data-edge-id="e-leads-customers"' in page
    assert f'data-entity-id="{entity.pk}"' in page
    assert f"/flows/{canvas.pk}/live/" in page


def test_the_live_page_sends_visitors_to_log_in(client) -> None:
    canvas = CanvasFactory.create()
    response = client.get(f"/flows/{canvas.pk}/live/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_owner_who_is_not_staff_signs_in_and_sees_their_live_page(client) -> None:
    canvas = CanvasFactory.create()
    page = client.get(f"/accounts/login/?next=/flows/{canvas.pk}/live/")
    assert page.status_code == 200
    response = client.post(
        "/accounts/login/",
        {
            "username": canvas.owner.username,
            "password": "pw-for-tests",
            "next": f"/flows/{canvas.pk}/live/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/flows/{canvas.pk}/live/"
    assert client.get(response["Location"]).status_code == 200


def test_the_live_page_is_404_for_someone_elses_canvas(client) -> None:
    canvas = CanvasFactory.create()
    client.force_login(UserFactory.create())
    assert client.get(f"/flows/{canvas.pk}/live/").status_code == 404


def test_the_live_page_draws_the_owners_canvas(client, owner) -> None:
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    from entities import services

    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    client.force_login(owner)
    page = client.get(f"/flows/{canvas.pk}/live/").content.decode()
    assert page.count('class="node"') == 3
    assert f'data-entity-id="{entity.pk}"' in page
    assert "edge_start" in page  # the recent events panel
    assert 'id="canvas-geometry"' in page
