"""REST and admin edits of an entity (SPEC 6): position fields are refused with a pointer
to /move/, and an edit writes only what it changes, so it never undoes a concurrent move."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from entities import services
from entities.models import Entity, JourneyEvent
from tests.conftest import client_for
from tests.factories import CanvasFactory, EntityFactory, UserFactory


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [
        ("current_node_id", "customers"),
        ("current_edge_id", "e-leads-customers"),
        ("edge_progress", "0.5"),
        ("journey", []),
        ("sequence", 99),
        ("current_node_id", None),
    ],
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_edit_naming_a_position_field_is_400_pointing_at_move(
    owner_client: APIClient, canvas, method: str, field: str, value: Any
) -> None:
    entity = EntityFactory.create(canvas=canvas, name="Ada", entity_type="lead")
    body = {"canvas_id": str(canvas.pk), "name": "Renamed", "entity_type": "lead", field: value}
    response = getattr(owner_client, method)(f"/api/entities/{entity.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert f"/api/entities/{entity.pk}/move/" in response.json()[field][0]
    entity.refresh_from_db()
    assert (entity.name, entity.current_node_id, entity.sequence) == ("Ada", None, 0)


@pytest.mark.django_db
def test_an_edit_writes_its_fields_and_bumps_the_sequence(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    services.entity_manual_move(entity_id=entity.pk, node_id="customers")
    response = owner_client.patch(
        f"/api/entities/{entity.pk}/",
        {"name": "Renamed", "metadata": {"plan": "pro"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["current_node_id"] == "customers"
    entity.refresh_from_db()
    assert (entity.name, entity.metadata, entity.sequence) == ("Renamed", {"plan": "pro"}, 2)
    assert entity.current_node_id == "customers"


def _wait_until_blocked_on_a_lock(thread: threading.Thread, timeout: float = 20.0) -> None:
    """Until another backend of this database waits for a lock (or the thread ended)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            # Activity statistics are a snapshot per transaction: take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    assert not thread.is_alive(), "the edit never waited for the move's row lock"


def _edit_while_a_move_holds_the_row(entity: Entity, edit: Callable[[], Any]) -> Any:
    """Start `edit` in a thread while this thread's uncommitted move holds the entity row
    lock; commit the move once the edit is blocked on it; return the edit's result.

    The edit has had every chance to read the row before the move commits: an edit that
    writes back what it read would put the old position back.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = edit()
        except Exception as exc:  # reported by the caller's assertions
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    with transaction.atomic():
        services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
        thread.start()
        _wait_until_blocked_on_a_lock(thread)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    return outcome["result"]


@pytest.mark.django_db(transaction=True)
def test_a_rest_edit_racing_a_move_keeps_the_move(owner) -> None:
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")

    def edit() -> Any:
        return client_for(owner).patch(
            f"/api/entities/{entity.pk}/", {"name": "Renamed"}, format="json"
        )

    response = _edit_while_a_move_holds_the_row(entity, edit)
    assert response.status_code == 200, response.content
    assert response.json()["current_edge_id"] == "e-leads-customers"
    entity.refresh_from_db()
    assert entity.name == "Renamed"
    assert (entity.current_node_id, entity.current_edge_id) == (None, "e-leads-customers")
    assert entity.sequence == 3  # move, move, edit: the edit never lowers it
    assert [item["event_type"] for item in entity.journey] == ["manual_move", "edge_start"]


@pytest.mark.django_db(transaction=True)
def test_an_admin_edit_racing_a_move_keeps_the_move() -> None:
    admin_user = UserFactory.create(is_staff=True, is_superuser=True)
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=admin_user), entity_type="lead")
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    browser = Client()
    browser.force_login(admin_user)
    url = f"/admin/entities/entity/{entity.pk}/change/"
    form = {
        "name": "Renamed",
        "email": entity.email,
        "avatar_url": "",
        "entity_type": "lead",
        "metadata": "{}",
    }
    response = _edit_while_a_move_holds_the_row(entity, lambda: browser.post(url, form))
    assert response.status_code == 302, response.content.decode()[:2000]
    entity.refresh_from_db()
    assert entity.name == "Renamed"
    assert (entity.current_node_id, entity.current_edge_id) == (None, "e-leads-customers")
    assert entity.sequence == 3


EDITS = 20
MOVES = 20


@pytest.mark.django_db(transaction=True)
def test_edits_racing_moves_from_many_threads_lose_no_move_and_no_edit(owner) -> None:
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def mover(offset: int) -> None:
        try:
            barrier.wait(timeout=10)
            for index in range(offset, MOVES, 2):
                node = ["leads", "customers", "churned"][index % 3]
                services.entity_manual_move(entity_id=entity.pk, node_id=node)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def editor(offset: int) -> None:
        try:
            api = client_for(owner)
            barrier.wait(timeout=10)
            for index in range(offset, EDITS, 2):
                body = {"metadata": {f"k{index}": index}, "name": f"name {index}"}
                response = api.patch(f"/api/entities/{entity.pk}/", body, format="json")
                assert response.status_code == 200, response.content
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=mover, args=(i,)) for i in (0, 1)]
    threads += [threading.Thread(target=editor, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    entity.refresh_from_db()
    events = list(JourneyEvent.objects.filter(entity=entity).order_by("timestamp", "id"))
    assert len(events) == MOVES
    assert entity.sequence == MOVES + EDITS
    # The position is the last committed move's, whatever the edits read meanwhile.
    last = max(events, key=lambda e: e.timestamp)
    assert entity.current_node_id == last.node_id
    assert [item["id"] for item in entity.journey] == [str(e.id) for e in events[-20:]]


@pytest.mark.django_db
def test_an_edit_naming_a_position_field_with_a_bad_value_still_points_at_move(
    owner_client: APIClient, canvas
) -> None:
    entity = EntityFactory.create(canvas=canvas)
    response = owner_client.patch(
        f"/api/entities/{entity.pk}/", {"edge_progress": "lots"}, format="json"
    )
    assert response.status_code == 400
    assert "/move/" in response.json()["edge_progress"][0]


@pytest.mark.django_db
def test_an_entity_added_in_the_admin_goes_through_the_service() -> None:
    admin_user = UserFactory.create(is_staff=True, is_superuser=True)
    canvas = CanvasFactory.create(owner=admin_user)
    browser = Client()
    browser.force_login(admin_user)
    form = {
        "canvas": str(canvas.pk),
        "name": "Ann",
        "email": "Ann@X.com",
        "avatar_url": "",
        "entity_type": "lead",
        "metadata": "{}",
    }
    response = browser.post("/admin/entities/entity/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entity = Entity.objects.get()
    assert (entity.name, entity.email, entity.canvas_id) == ("Ann", "ann@x.com", canvas.pk)
    again = browser.post("/admin/entities/entity/add/", form | {"email": "ANN@x.com"})
    assert again.status_code == 200  # the form again, with the clash named
    assert b"Another entity on this canvas has this e-mail address" in again.content
    assert Entity.objects.count() == 1
