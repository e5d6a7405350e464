"""GET /api/flows/{id}/analytics/funnel/: entities reaching steps in order, within a window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entities import services
from tests.factories import CanvasFactory, EntityFactory
from tests.runs.analytics_history import T0, arrive, walker

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


def funnel(client, canvas, **query):
    query.setdefault("steps", "leads,customers,churned")
    return client.get(f"/api/flows/{canvas.pk}/analytics/funnel/", query)


def steps_of(response):
    assert response.status_code == 200, response.content
    return response.json()["steps"]


def test_it_counts_entities_that_reached_the_steps_in_order(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 1 * H), ("churned", 3 * H))
    walker(canvas, ("leads", 0 * H), ("customers", 3 * H))
    # Customers before leads: reached the first step, not the second after it.
    walker(canvas, ("customers", 0 * H), ("leads", 1 * H))
    walker(canvas, ("churned", 0 * H))  # never entered the funnel

    assert steps_of(funnel(owner_client, canvas)) == [
        {
            "node_id": "leads",
            "entered": 3,
            "conversion_from_previous": 1.0,
            "conversion_from_first": 1.0,
            "median_seconds_from_previous": None,
        },
        {
            "node_id": "customers",
            "entered": 2,
            "conversion_from_previous": 0.6667,
            "conversion_from_first": 0.6667,
            "median_seconds_from_previous": 2 * 3600.0,  # 1 h and 3 h
        },
        {
            "node_id": "churned",
            "entered": 1,
            "conversion_from_previous": 0.5,
            "conversion_from_first": 0.3333,
            "median_seconds_from_previous": 2 * 3600.0,
        },
    ]


def test_the_steps_are_answered_in_the_order_asked(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 1 * H))
    walker(canvas, ("customers", 0 * H), ("leads", 1 * H))
    forward = steps_of(funnel(owner_client, canvas, steps="leads,customers"))
    backward = steps_of(funnel(owner_client, canvas, steps="customers,leads"))
    assert [(s["node_id"], s["entered"]) for s in forward] == [("leads", 2), ("customers", 1)]
    assert [(s["node_id"], s["entered"]) for s in backward] == [("customers", 2), ("leads", 1)]


def test_each_step_must_come_within_the_window_of_the_first(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 2 * H), ("churned", 20 * H))
    walker(canvas, ("leads", 0 * H), ("customers", 8 * 24 * H))

    def entered(within):
        return [s["entered"] for s in steps_of(funnel(owner_client, canvas, within=within))]

    assert entered("7d") == [2, 1, 1]
    assert entered("9d") == [2, 2, 1]
    # The window counts from the first step, not from the previous one.
    assert entered("12h") == [2, 1, 0]
    assert entered("1h") == [2, 0, 0]
    assert entered(str(2 * 3600)) == [2, 1, 0]  # plain seconds; inclusive bound
    assert entered("120m") == [2, 1, 0]
    assert entered("") == [2, 2, 1]  # default 30 days


def test_the_funnel_starts_at_the_first_arrival_and_takes_the_next_step_after_it(
    owner_client, canvas
) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 1 * H), ("leads", 2 * H), ("customers", 9 * H))
    [_, second] = steps_of(funnel(owner_client, canvas, steps="leads,customers"))
    assert second["entered"] == 1
    assert second["median_seconds_from_previous"] == 3600.0


def test_a_node_can_be_a_step_twice(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 1 * H), ("leads", 2 * H))
    walker(canvas, ("leads", 0 * H))
    rows = steps_of(funnel(owner_client, canvas, steps="leads,customers,leads"))
    assert [s["entered"] for s in rows] == [2, 1, 1]


def test_steps_nobody_reached_are_zero_with_no_conversion(owner_client, canvas) -> None:
    assert steps_of(funnel(owner_client, canvas)) == [
        {
            "node_id": node_id,
            "entered": 0,
            "conversion_from_previous": None,
            "conversion_from_first": None,
            "median_seconds_from_previous": None,
        }
        for node_id in ("leads", "customers", "churned")
    ]
    walker(canvas, ("leads", 0 * H))
    rows = steps_of(funnel(owner_client, canvas))
    assert [s["entered"] for s in rows] == [1, 0, 0]
    assert [s["conversion_from_previous"] for s in rows] == [1.0, 0.0, None]
    assert [s["conversion_from_first"] for s in rows] == [1.0, 0.0, 0.0]


def test_since_and_until_choose_when_the_first_step_happened(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 5 * H))
    walker(canvas, ("leads", 48 * H), ("customers", 49 * H))
    early = funnel(owner_client, canvas, steps="leads,customers", until=(T0 + H).isoformat())
    # The second step may fall after `until`: it still belongs to a funnel started before.
    assert [s["entered"] for s in steps_of(early)] == [1, 1]
    late = funnel(owner_client, canvas, steps="leads,customers", since=(T0 + H).isoformat())
    assert [s["entered"] for s in steps_of(late)] == [1, 1]
    assert steps_of(late)[1]["median_seconds_from_previous"] == 3600.0


def test_manual_moves_and_arrivals_through_the_services_both_count(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    services.entity_manual_move(entity_id=entity.pk, node_id="leads")
    services.entity_journey_start(entity_id=entity.pk, edge_id="e-leads-customers")
    services.entity_arrive(entity_id=entity.pk)
    other = EntityFactory.create(canvas=canvas)
    arrive(other, "leads", T0, kind="node_complete")  # not an arrival
    rows = steps_of(funnel(owner_client, canvas, steps="leads,customers"))
    assert [s["entered"] for s in rows] == [1, 1]


def test_another_users_canvas_is_404(other_client, canvas) -> None:
    assert funnel(other_client, canvas).status_code == 404


def test_anonymous_callers_are_refused(anon_client, canvas) -> None:
    assert funnel(anon_client, canvas).status_code in (401, 403)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"steps": ""}, "steps"),
        ({"steps": "leads,,customers"}, "steps"),
        ({"steps": "leads,nowhere"}, "steps"),
        ({"steps": ",".join(["leads"] * 21)}, "steps"),
        ({"within": "7x"}, "within"),
        ({"within": "0"}, "within"),
        ({"within": "-5"}, "within"),
        ({"within": "99999999999d"}, "within"),
        ({"since": "last week"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(owner_client, canvas, query, field) -> None:
    response = funnel(owner_client, canvas, **query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_missing_steps_is_400_naming_steps(owner_client, canvas) -> None:
    response = owner_client.get(f"/api/flows/{canvas.pk}/analytics/funnel/")
    assert response.status_code == 400
    assert "steps" in response.json()["steps"][0]
