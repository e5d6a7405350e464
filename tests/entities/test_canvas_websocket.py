"""/ws/flows/{canvas_id}/ on a real uvicorn server with a real websocket client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from entities import realtime, services
from tests.entities.live_servers import nothing_unread, receive, threaded_server
from tests.factories import CanvasFactory, EntityFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    with threaded_server() as hostport:
        yield hostport


def open_socket(
    server: str,
    canvas_id: object,
    *,
    token: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
) -> ClientConnection:
    query = f"?token={token}" if token else ""
    headers = {"Cookie": cookie} if cookie else None
    return connect(
        f"ws://{server}/ws/flows/{canvas_id}/{query}",
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        open_timeout=10,
    )


def assert_silent(ws: ClientConnection, timeout: float = 0.3) -> None:
    assert nothing_unread(ws)
    with pytest.raises(TimeoutError):
        ws.recv(timeout=timeout)


def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


@pytest.fixture
def subscribed(server, canvas, owner) -> Iterator[ClientConnection]:
    """An owner's socket on `canvas`, snapshot already read."""
    with open_socket(server, canvas.pk, token=owner.auth_token.key) as ws:
        assert receive(ws)["type"] == "snapshot"
        yield ws


def test_a_socket_without_credentials_is_closed_with_4403(server, canvas) -> None:
    with open_socket(server, canvas.pk) as ws:
        assert close_code(ws) == 4403


def test_a_wrong_token_is_closed_with_4403(server, canvas) -> None:
    with open_socket(server, canvas.pk, token="not-a-token") as ws:
        assert close_code(ws) == 4403


def test_another_users_canvas_is_closed_with_4403(server, canvas) -> None:
    intruder = UserFactory.create()
    with open_socket(server, canvas.pk, token=intruder.auth_token.key) as ws:
        assert close_code(ws) == 4403


@pytest.mark.parametrize("canvas_id", [uuid.uuid4(), "not-a-uuid"])
def test_an_unknown_or_malformed_canvas_is_closed_with_4404(server, owner, canvas_id) -> None:
    with open_socket(server, canvas_id, token=owner.auth_token.key) as ws:
        assert close_code(ws) == 4404


def test_the_snapshot_lists_the_canvas_entities(server, canvas, owner) -> None:
    first = EntityFactory.create(canvas=canvas, current_node_id="leads")
    EntityFactory.create()  # another canvas
    with open_socket(server, canvas.pk, token=owner.auth_token.key) as ws:
        snapshot = receive(ws)
    assert snapshot["type"] == "snapshot"
    assert [(e["id"], e["current_node_id"]) for e in snapshot["entities"]] == [
        (str(first.pk), "leads")
    ]


def session_cookie(user) -> str:
    browser = Client()
    browser.force_login(user)
    return f"sessionid={browser.cookies['sessionid'].value}"


def test_a_session_cookie_authenticates_the_socket(server, canvas, owner) -> None:
    cookie = session_cookie(owner)
    with open_socket(server, canvas.pk, cookie=cookie, origin=f"http://{server}") as ws:
        assert receive(ws)["type"] == "snapshot"


def test_a_session_socket_opened_by_another_site_is_closed_with_4403(server, canvas, owner):
    cookie = session_cookie(owner)
    with open_socket(server, canvas.pk, cookie=cookie, origin="https://evil.example") as ws:
        assert close_code(ws) == 4403


def test_a_move_is_sent_only_after_its_transaction_commits(subscribed, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    with transaction.atomic():
        services.entity_manual_move(entity_id=entity.pk, node_id="customers")
        assert_silent(subscribed)
    message = receive(subscribed)
    assert message["type"] == "entity.updated"
    assert message["entity"]["id"] == str(entity.pk)
    assert message["entity"]["current_node_id"] == "customers"
    assert message["event"]["event_type"] == "manual_move"


def test_client_frames_are_ignored_and_the_socket_stays_open(subscribed, canvas) -> None:
    subscribed.send("not json at all")
    entity = EntityFactory.create(canvas=canvas)
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    assert receive(subscribed)["type"] == "entity.updated"


def test_a_rolled_back_move_sends_nothing(subscribed, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.entity_manual_move(entity_id=entity.pk, node_id="customers")
        raise RuntimeError("roll back")
    assert_silent(subscribed, timeout=0.5)


def test_moves_through_the_api_arrive_in_commit_order(server, subscribed, canvas, owner) -> None:
    entity = EntityFactory.create(canvas=canvas)
    headers = {"Authorization": f"Token {owner.auth_token.key}"}
    bodies = [
        {"edge_id": "e-leads-customers"},
        {"edge_id": "e-leads-customers", "progress": 0.25},
        {"edge_id": "e-leads-customers", "progress": 0.75},
        {"arrive": True},
        {"complete": True},
    ]
    with httpx.Client(base_url=f"http://{server}", headers=headers) as api:
        for body in bodies:
            response = api.post(f"/api/entities/{entity.pk}/move/", json=body)
            assert response.status_code == 200, response.text
    kinds = [receive(subscribed)["event"]["event_type"] for _ in bodies]
    assert kinds == [
        "edge_start",
        "edge_progress",
        "edge_progress",
        "node_arrival",
        "node_complete",
    ]


def test_a_burst_of_500_moves_is_delivered_completely_and_in_order(subscribed, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    nodes = ["leads", "customers", "churned"]
    for index in range(500):
        services.entity_manual_move(entity_id=entity.pk, node_id=nodes[index % 3])
    received = [receive(subscribed) for _ in range(500)]
    assert [m["seq"] for m in received] == list(range(1, 501))
    assert [m["entity"]["current_node_id"] for m in received] == [nodes[i % 3] for i in range(500)]


def test_messages_of_other_canvases_do_not_reach_the_socket(subscribed, owner) -> None:
    elsewhere = EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    services.entity_manual_move(entity_id=elsewhere.pk, node_id="leads")
    assert_silent(subscribed, timeout=0.5)


def test_deleting_an_entity_through_the_api_broadcasts_its_id(server, subscribed, canvas, owner):
    entity = EntityFactory.create(canvas=canvas)
    response = httpx.delete(
        f"http://{server}/api/entities/{entity.pk}/",
        headers={"Authorization": f"Token {owner.auth_token.key}"},
    )
    assert response.status_code == 204
    assert receive(subscribed) == {"type": "entity.deleted", "id": str(entity.pk)}


def test_run_updates_reach_the_workflow_and_the_entity_canvas(server, subscribed, canvas, owner):
    workflow = CanvasFactory.create(owner=owner, canvas_type="workflow")
    with open_socket(server, workflow.pk, token=owner.auth_token.key) as workflow_socket:
        assert receive(workflow_socket)["type"] == "snapshot"
        run_id = uuid.uuid4()
        with transaction.atomic():
            transaction.on_commit(
                lambda: realtime.run_updated(
                    run_id=run_id,
                    flow_id=workflow.pk,
                    canvas_id=canvas.pk,
                    node_id="a",
                    status="completed",
                )
            )
        for ws in (workflow_socket, subscribed):
            message = receive(ws)
            assert message["type"] == "run.updated"
            assert (message["run_id"], message["node_id"], message["status"]) == (
                str(run_id),
                "a",
                "completed",
            )


def api(server: str, owner) -> httpx.Client:
    headers = {"Authorization": f"Token {owner.auth_token.key}"}
    return httpx.Client(base_url=f"http://{server}", headers=headers, timeout=10)


def test_creating_an_entity_through_the_api_broadcasts_it(server, subscribed, canvas, owner):
    body = {"canvas_id": str(canvas.pk), "name": "Ada", "entity_type": "lead"}
    with api(server, owner) as client:
        created = client.post("/api/entities/", json=body)
    assert created.status_code == 201, created.text
    message = receive(subscribed)
    assert message["type"] == "entity.updated"
    assert message["entity"] == created.json()
    assert message["event"] is None


def test_creating_a_placed_entity_broadcasts_its_first_event(server, subscribed, canvas, owner):
    body = {"canvas_id": str(canvas.pk), "name": "Ada", "entity_type": "lead"}
    with api(server, owner) as client:
        created = client.post("/api/entities/", json=body | {"current_node_id": "leads"})
    assert created.status_code == 201, created.text
    message = receive(subscribed)
    assert message["entity"]["current_node_id"] == "leads"
    assert message["event"]["event_type"] == "manual_move"


def test_editing_an_entity_through_the_api_broadcasts_it(server, subscribed, canvas, owner):
    entity = EntityFactory.create(canvas=canvas)
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    assert receive(subscribed)["seq"] == 1
    with api(server, owner) as client:
        edited = client.patch(f"/api/entities/{entity.pk}/", json={"name": "Renamed"})
    assert edited.status_code == 200, edited.text
    message = receive(subscribed)
    assert (message["type"], message["seq"], message["event"]) == ("entity.updated", 2, None)
    assert message["entity"]["name"] == "Renamed"
    assert message["entity"]["current_node_id"] == "leads"


def test_deleting_a_canvas_broadcasts_the_deletion_of_each_entity(
    server, subscribed, canvas, owner
):
    entities = {str(EntityFactory.create(canvas=canvas).pk) for _ in range(3)}
    with api(server, owner) as client:
        assert client.delete(f"/api/flows/{canvas.pk}/").status_code == 204
    deleted = [receive(subscribed) for _ in entities]
    assert {m["id"] for m in deleted} == entities
    assert {m["type"] for m in deleted} == {"entity.deleted"}


def test_deleting_the_owner_in_the_admin_broadcasts_the_deletion_of_each_entity(
    server, subscribed, canvas, owner
):
    entities = {str(EntityFactory.create(canvas=canvas).pk) for _ in range(2)}
    operator = Client()
    operator.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    answer = operator.post(f"/admin/stitch/user/{owner.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    deleted = [receive(subscribed) for _ in entities]
    assert {m["id"] for m in deleted} == entities
    assert {m["type"] for m in deleted} == {"entity.deleted"}


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1",  # same host, another port
        "https://{server}",  # same host and port, another scheme
        "http://evil.example",  # allowed by ALLOWED_HOSTS=* below, but not this site
        "null",
    ],
)
def test_a_session_socket_from_an_origin_other_than_this_site_is_4403(
    server, canvas, owner, settings, origin
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    cookie = session_cookie(owner)
    with open_socket(server, canvas.pk, cookie=cookie, origin=origin.format(server=server)) as ws:
        assert close_code(ws) == 4403


def test_a_session_socket_from_the_public_base_url_is_served(server, canvas, owner, settings):
    settings.PUBLIC_BASE_URL = "https://stitch.example.com"
    cookie = session_cookie(owner)
    with open_socket(server, canvas.pk, cookie=cookie, origin="https://stitch.example.com") as ws:
        assert receive(ws)["type"] == "snapshot"


def test_an_expired_token_is_closed_with_4403(server, canvas, owner, settings) -> None:
    settings.API_TOKEN_TTL_SECONDS = 60
    Token.objects.filter(user=owner).update(created=timezone.now() - timedelta(seconds=61))
    with open_socket(server, canvas.pk, token=owner.auth_token.key) as ws:
        assert close_code(ws) == 4403
