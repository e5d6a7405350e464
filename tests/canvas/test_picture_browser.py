"""The demo's BMC as an operator sees it, crowded: edges between blocks start and end
on the blocks' borders and run through the gutters, never over a card; the entities
standing on a block are a row in its foot strip (the rest on a "+N" chip), clear of
cards, lines and labels; entities travelling sit on their edge's path; a move over the
websocket puts the dot where the server draws it. The same on the admin picture and in
the editor (which computes the paths itself), and the free-layout workflow still draws
its edges from border to border."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token

from entities import services
from entities.models import Entity, JourneyEvent
from flows.models import Flow
from stitch.models import User
from tests.canvas.conftest import in_a_thread, no_script_errors, screenshot
from tests.canvas.editing import open_editor
from tests.canvas.picture_geometry import (
    check_chips,
    check_edges,
    check_labels,
    check_standing_dots,
    check_travelling_dots,
    read,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (node, how many customers stand there) and (edge, progress of each one on it).
STANDING = [
    ("revenue-streams", 58),
    ("customer-segments", 22),
    ("customer-relationships", 6),
    ("channels", 4),
    ("key-activities", 2),
    ("item-monthly-plans", 3),
]
TRAVELLING = [
    ("e-segments-channels", ["0.20", "0.55", "0.90"]),
    ("e-relationships-revenue", ["0.10", "0.50", "0.97"]),
    ("e-channels-relationships", ["0.50"]),
]


# The way customers go through the demo's BMC: (node, the edge that leads to it).
CHAIN = [
    ("customer-segments", ""),
    ("channels", "e-segments-channels"),
    ("customer-relationships", "e-channels-relationships"),
    ("revenue-streams", "e-relationships-revenue"),
]


def walk(entity: Entity, target: str) -> None:
    """Along CHAIN until `target` (a node, or the edge the walk ends on at progress 0),
    then a manual move to a `target` off the chain."""
    services.entity_manual_move(entity_id=entity.pk, node_id="customer-segments")
    here = "customer-segments"
    for node_id, edge_id in CHAIN[1:]:
        if target == here:
            return
        services.entity_journey_start(entity_id=entity.pk, edge_id=edge_id)
        if target == edge_id:
            return
        services.entity_arrive(entity_id=entity.pk)
        here = node_id
    if target != here:
        services.entity_manual_move(entity_id=entity.pk, node_id=target)


def crowd(bmc: Flow) -> None:
    """Customers all over the demo's BMC, walked through the movement services (real
    journeys, so the analytics and the funnel have something to count)."""

    def make() -> None:
        places = [
            *((node_id, "customer", None) for node_id, count in STANDING for _ in range(count)),
            *((edge_id, "lead", p) for edge_id, ps in TRAVELLING for p in ps),
        ]
        for number, (target, kind, progress) in enumerate(places, start=1):
            entity = Entity.objects.create(
                canvas=bmc, name=f"Customer {number}", entity_type=kind, metadata={}
            )
            walk(entity, target)
            if progress is not None:
                services.entity_progress(entity_id=entity.pk, progress=progress)

    in_a_thread(make)


def backdate(bmc: Flow) -> None:
    """Spread the crowd's journeys over the last four weeks, each step taking a few
    hours (as the README's pictures show them)."""
    now = timezone.now()
    entities = Entity.objects.filter(canvas=bmc).order_by("created_at", "pk")
    for number, entity in enumerate(entities):
        step = timedelta(hours=2 + number % 9, minutes=7 * (number % 8))
        start = now - timedelta(days=number * 7 % 27, hours=number % 11) - 5 * step
        events = list(JourneyEvent.objects.filter(entity=entity).order_by("timestamp", "pk"))
        for index, event in enumerate(events):
            event.timestamp = start + index * step
            if event.seconds_in_previous_node is not None:
                event.seconds_in_previous_node = step.total_seconds()
        JourneyEvent.objects.bulk_update(events, ["timestamp", "seconds_in_previous_node"])


def where(bmc: Flow) -> tuple[dict[str, str], dict[str, str]]:
    """(entity id -> node id, entity id -> edge id) as the database has them."""
    standing, travelling = {}, {}
    for entity in Entity.objects.filter(canvas=bmc):
        if entity.current_node_id:
            standing[str(entity.pk)] = entity.current_node_id
        elif entity.current_edge_id:
            travelling[str(entity.pk)] = entity.current_edge_id
    return standing, travelling


def check_picture(picture: dict[str, Any], bmc: Flow) -> None:
    standing, travelling = where(bmc)
    check_edges(picture, bmc.graph)
    check_standing_dots(picture, standing)
    check_chips(picture, standing)
    check_travelling_dots(picture, travelling)
    check_labels(picture)


@pytest.fixture
def crowded(demo: dict[str, Flow]) -> Flow:
    crowd(demo["bmc"])
    return demo["bmc"]


def live(page: Page, server: str, flow: Flow) -> None:
    page.goto(f"{server}/flows/{flow.pk}/live/")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")


def test_the_crowded_bmc_draws_edges_between_borders_and_dots_clear_of_cards_and_lines(
    page_for: Callable[..., Page], server: str, crowded: Flow
) -> None:
    page = page_for(User.objects.get(username="operator"), width=1500, height=950)
    live(page, server, crowded)
    picture = read(page)
    check_picture(picture, crowded)
    # The crowded blocks show a full row and a chip; every edge has its arrowhead.
    chips = {chip["node"]: chip["count"] for chip in picture["chips"]}
    assert set(chips) == {"revenue-streams", "customer-segments"}
    markers = page.locator("#canvas-svg .edge path:not(.traffic)").evaluate_all(
        "ps => ps.map(p => p.getAttribute('marker-end'))"
    )
    assert markers == ["url(#arrow)"] * len(crowded.graph["edges"])
    screenshot(page, "bmc-crowded-live")
    # The same picture on the admin's Flow page.
    page.goto(f"{server}/admin/flows/flow/{crowded.pk}/change/")
    check_picture(read(page, ".canvas-picture #canvas-svg"), crowded)
    no_script_errors(page)


def test_with_the_analytics_on_the_numbers_stay_clear_of_the_dots(
    page_for: Callable[..., Page], server: str, crowded: Flow
) -> None:
    page = page_for(User.objects.get(username="operator"), width=1500, height=950)
    live(page, server, crowded)
    expect(page.locator("[data-analytics-panel]")).to_have_attribute("data-state", "ready")
    picture = read(page)
    check_picture(picture, crowded)
    for text in page.locator("#canvas-overlay text.conversion").all():
        box = text.bounding_box()
        assert box is not None
        for dot in picture["dots"].values():
            assert not (
                box["x"] < dot["x"] + dot["w"]
                and dot["x"] < box["x"] + box["width"]
                and box["y"] < dot["y"] + dot["h"]
                and dot["y"] < box["y"] + box["height"]
            ), text.text_content()
    screenshot(page, "bmc-crowded-analytics")
    no_script_errors(page)


def move(server: str, operator: User, entity: Entity, body: dict[str, Any]) -> None:
    token, _ = Token.objects.get_or_create(user=operator)
    response = httpx.post(
        f"{server}/api/entities/{entity.pk}/move/",
        json=body,
        headers={"Authorization": f"Token {token.key}"},
    )
    assert response.status_code == 200, response.text


DOT = re.compile(r'<circle class="entity-dot" data-entity-id="([^"]+)" cx="([^"]+)" cy="([^"]+)"')
CHIP = re.compile(r'<g class="dot-chip" data-node-id="([^"]+)" data-count="([0-9]+)"')


def server_drawn(client: Client, url: str) -> tuple[dict[str, tuple[float, float]], list[Any]]:
    """The dots and chips of the page as the server renders it (before any script)."""
    html = client.get(url).content.decode()
    dots = {m[1]: (float(m[2]), float(m[3])) for m in DOT.finditer(html)}
    return dots, [(m[1], int(m[2])) for m in CHIP.finditer(html)]


def test_a_dot_moved_over_the_websocket_lands_where_the_server_draws_it(
    page_for: Callable[..., Page], server: str, crowded: Flow
) -> None:
    operator = User.objects.get(username="operator")
    page = page_for(operator, width=1500, height=950)
    live(page, server, crowded)
    client = Client()
    client.force_login(operator)
    ada = Entity.objects.get(canvas=crowded, name="Ada Lovelace")
    steps: list[tuple[dict[str, Any], str, str]] = [
        ({"edge_id": "e-relationships-revenue"}, "data-edge-id", "e-relationships-revenue"),
        (
            {"edge_id": "e-relationships-revenue", "progress": "0.40"},
            "data-edge-id",
            "e-relationships-revenue",
        ),
        ({"arrive": True}, "data-node-id", "revenue-streams"),
        ({"node_id": "key-activities"}, "data-node-id", "key-activities"),
    ]
    for body, attribute, value in steps:
        dot = page.locator(f'#canvas-svg circle[data-entity-id="{ada.pk}"]')
        before = dot.evaluate("c => c.getAttribute('cx') + ',' + c.getAttribute('cy')")
        move(server, operator, ada, body)
        expect(dot).to_have_attribute(attribute, value)
        dot.evaluate(
            """(c, before) => new Promise((done) => {
              const moved = () => c.getAttribute('cx') + ',' + c.getAttribute('cy') !== before;
              if (moved()) return done();
              new MutationObserver(() => moved() && done()).observe(c, { attributes: true });
            })""",
            before,
        )
        moved = read(page)
        # The page as the server draws it now: the same places, the same chips.
        dots, chips = server_drawn(client, f"/flows/{crowded.pk}/live/")
        assert dots.keys() == moved["dots"].keys()
        for entity_id, (cx, cy) in dots.items():
            x, y = moved["dots"][entity_id]["user"]
            assert abs(x - cx) < 1e-6 and abs(y - cy) < 1e-6, (body, entity_id)
        assert [(c["node"], c["count"]) for c in moved["chips"]] == chips
        check_picture(moved, crowded)
    no_script_errors(page)


def test_the_editor_draws_the_paths_and_dots_the_server_draws(
    page_for: Callable[..., Page], server: str, crowded: Flow
) -> None:
    page = page_for(User.objects.get(username="operator"), width=1500, height=950)
    live(page, server, crowded)
    server_paths = page.evaluate(
        "() => Object.fromEntries(Object.entries(JSON.parse(document.getElementById("
        "'canvas-geometry').textContent).edges).map(([k, e]) => [k, e.points]))"
    )
    open_editor(page, f"{server}/admin/flows/flow/{crowded.pk}/change/")
    editor_paths = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.editor-canvas .edge')]
          .map(g => [g.dataset.edgeId, g.querySelector('path:not(.hit)').getAttribute('d')
            .match(/-?[0-9.e+-]+/g).map(Number)]))"""
    )
    assert editor_paths == {k: [c for p in v for c in p] for k, v in server_paths.items()}
    picture = read(page, ".editor-canvas")
    check_picture(picture, crowded)
    screenshot(page, "bmc-crowded-editor")
    no_script_errors(page)


def test_the_free_layout_workflow_still_draws_edges_from_border_to_border(
    page_for: Callable[..., Page], server: str, demo: dict[str, Flow]
) -> None:
    workflow = demo["workflow"]
    page = page_for(User.objects.get(username="operator"))
    live(page, server, workflow)
    picture = read(page)
    check_edges(picture, workflow.graph)
    check_labels(picture)
    screenshot(page, "workflow-live")
    no_script_errors(page)


def test_the_readmes_pictures_of_the_bmc_with_and_without_the_analytics(
    page_for: Callable[..., Page], server: str, crowded: Flow
) -> None:
    """test-artifacts/docs-bmc.png and docs-analytics-overlay.png, which the README shows
    (docs/screenshots/bmc.png, analytics-overlay.png): the picture stays clean with the
    numbers on, a 30-day window and a four-step funnel."""
    backdate(crowded)
    page = page_for(User.objects.get(username="operator"), width=1500, height=950)
    live(page, server, crowded)
    panel = page.locator("[data-analytics-panel]")
    expect(panel).to_have_attribute("data-state", "ready")
    panel.get_by_label("on the canvas").uncheck()
    check_picture(read(page), crowded)
    screenshot(page, "docs-bmc")
    panel.get_by_label("on the canvas").check()
    panel.locator("[data-window='30d']").click()
    expect(panel).to_have_attribute("data-window", "30d")
    steps = ["customer-segments", "channels", "customer-relationships", "revenue-streams"]
    for node_id in steps:
        panel.get_by_label("Add a funnel step").select_option(node_id)
    expect(page.locator(".funnel-bars .funnel-row")).to_have_count(4)
    check_picture(read(page), crowded)
    screenshot(page, "docs-analytics-overlay")
    no_script_errors(page)
