"""Issue 13 item 4: the analytics drawn on the live page; switching the time window
changes the numbers, and a funnel of picked nodes shows its bars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from entities.models import Entity, JourneyEvent
from flows.models import Flow
from stitch.models import User
from tests.canvas.conftest import no_script_errors, screenshot
from tests.factories import CanvasFactory, EntityFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDGE = "e-leads-customers"
# (age of the journey, entities that reached customers, entities still on the way)
JOURNEYS = [
    (timedelta(hours=2), 1, 1),
    (timedelta(days=3), 2, 0),
    (timedelta(days=20), 3, 1),
    (timedelta(days=100), 4, 0),
]


def event(entity: Entity, at: timedelta, kind: str, **fields: object) -> None:
    JourneyEvent.objects.create(
        entity=entity,
        canvas=entity.canvas,
        event_type=kind,
        timestamp=timezone.now() - at,
        **fields,
    )


def journeys(canvas: Flow) -> None:
    """Leads arrive, start towards customers a minute later, most arrive 5 minutes on."""
    for age, reached, travelling in JOURNEYS:
        for index in range(reached + travelling):
            entity = EntityFactory.create(canvas=canvas, current_node_id="leads")
            event(entity, age, "manual_move", node_id="leads")
            event(
                entity,
                age - timedelta(minutes=1),
                "edge_start",
                edge_id=EDGE,
                previous_node_id="leads",
                seconds_in_previous_node=60.0,
            )
            if index < reached:
                event(
                    entity,
                    age - timedelta(minutes=6),
                    "node_arrival",
                    node_id="customers",
                    edge_id=EDGE,
                )
                Entity.objects.filter(pk=entity.pk).update(current_node_id="customers")
            else:
                Entity.objects.filter(pk=entity.pk).update(
                    current_node_id=None, current_edge_id=EDGE, edge_progress=0.5
                )


@pytest.fixture
def canvas(transactional_db: None) -> Flow:
    canvas = CanvasFactory.create(owner=UserFactory.create(username="ana"), name="Sales")
    journeys(canvas)
    return canvas


def arrivals(page: Page, node_id: str) -> str | None:
    stats = page.locator(f'#canvas-overlay .node-stats[data-node-id="{node_id}"] .stats')
    return stats.get_attribute("data-arrivals")


def pick_window(page: Page, key: str) -> None:
    page.locator(f'[data-analytics-panel] [data-window="{key}"]').click()
    panel = page.locator("[data-analytics-panel]")
    expect(panel).to_have_attribute("data-window", key)
    expect(panel).to_have_attribute("data-state", "ready")


def test_switching_the_analytics_window_on_the_live_page_changes_the_numbers(
    page_for: Callable[..., Page], server: str, canvas: Flow
) -> None:
    page = page_for(User.objects.get(username="ana"))
    page.goto(f"{server}/flows/{canvas.pk}/live/")
    panel = page.locator("[data-analytics-panel]")
    expect(panel).to_have_attribute("data-state", "ready")
    expect(panel).to_have_attribute("data-window", "7d")  # the default
    seen = {}
    for key, expected_arrivals, expected_conversion in [
        ("24h", "1", "50%"),
        ("7d", "3", "75%"),
        ("30d", "6", "75%"),
        ("all", "10", "83%"),
    ]:
        pick_window(page, key)
        seen[key] = arrivals(page, "customers")
        assert seen[key] == expected_arrivals, key
        conversion = page.locator(f'#canvas-overlay .conversion[data-edge-id="{EDGE}"]')
        expect(conversion).to_have_text(expected_conversion)
        screenshot(page, f"live-analytics-{key}")
    assert len(set(seen.values())) == 4
    # Per node: standing there now, and the median / p90 time spent (leads: 60 s).
    expect(
        page.locator('#canvas-overlay .node-stats[data-node-id="customers"] .current')
    ).to_have_text("10")
    expect(
        page.locator('#canvas-overlay .node-stats[data-node-id="leads"] .stats')
    ).to_contain_text("12 in · median 60 s · p90 60 s")
    # The edge carrying traffic has a wider band under it than the one without any.
    widths = page.locator("#canvas-svg .edge path.traffic").evaluate_all(
        "ls => ls.map(l => l.style.strokeWidth)"
    )
    assert widths == ["10", "2"]
    spark = page.locator('#canvas-overlay .node-stats[data-node-id="customers"] .spark')
    assert int(spark.get_attribute("data-buckets") or 0) > 1
    expect(spark.locator("rect.bar")).not_to_have_count(0)
    no_script_errors(page)


def test_a_funnel_of_nodes_picked_on_the_canvas_shows_each_steps_conversion(
    page_for: Callable[..., Page], server: str, canvas: Flow
) -> None:
    page = page_for(User.objects.get(username="ana"))
    page.goto(f"{server}/flows/{canvas.pk}/live/")
    pick_window(page, "all")
    page.locator("[data-analytics-panel] [data-action=pick]").click()
    for node_id in ("leads", "customers"):
        page.locator(f'#canvas-svg .node[data-node-id="{node_id}"] rect').click()
    assert page.url.endswith(f"/flows/{canvas.pk}/live/")  # picking does not navigate
    rows = page.locator(".funnel-bars .funnel-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-entered", "12")
    expect(rows.nth(1)).to_have_attribute("data-entered", "10")
    expect(rows.nth(1)).to_contain_text("83% of previous · 83% of first")
    page.locator("[data-analytics-panel]").screenshot(path=str(screenshot(page, "live-funnel")))
    pick_window(page, "24h")
    expect(rows.nth(0)).to_have_attribute("data-entered", "2")
    expect(rows.nth(1)).to_contain_text("50% of previous")
    no_script_errors(page)
