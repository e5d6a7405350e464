"""GET /api/flows/{id}/analytics/series/: arrivals per node per hour, day or week."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import CanvasFactory
from tests.runs.analytics_history import T0, arrive, walker

pytestmark = pytest.mark.django_db
H, D = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


def series(client, canvas, **query):
    return client.get(f"/api/flows/{canvas.pk}/analytics/series/", query)


def buckets_of(response):
    assert response.status_code == 200, response.content
    return [(b["start"], b["nodes"]) for b in response.json()["buckets"]]


def iso(instant):
    return instant.isoformat().replace("+00:00", "Z")


def test_it_counts_arrivals_per_node_per_day_with_every_day_listed(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H), ("customers", 2 * H), ("churned", 2 * D))
    other = walker(canvas, ("leads", 5 * H))
    arrive(other, "customers", T0 + 3 * H, kind="manual_move")
    arrive(other, "customers", T0 + 4 * H, kind="node_complete")  # not an arrival
    window = {"since": T0.date().isoformat(), "until": (T0 + 3 * D).date().isoformat()}

    assert buckets_of(series(owner_client, canvas, bucket="day", **window)) == [
        (iso(T0 - 9 * H), {"leads": 2, "customers": 2}),
        (iso(T0 + 15 * H), {}),
        (iso(T0 + 39 * H), {"churned": 1}),
    ]


def test_hour_buckets_start_on_the_hour(owner_client, canvas) -> None:
    walker(canvas, ("leads", timedelta(minutes=10)), ("customers", timedelta(minutes=70)))
    window = {"since": iso(T0), "until": iso(T0 + 2 * H)}
    assert buckets_of(series(owner_client, canvas, bucket="hour", **window)) == [
        (iso(T0), {"leads": 1}),
        (iso(T0 + H), {"customers": 1}),
    ]


def test_weeks_start_on_monday_utc(owner_client, canvas) -> None:
    # T0 is Monday 2 March 09:00 UTC: Sunday 1 March 23:00 belongs to the week before,
    # Sunday the 8th to T0's week, Monday the 9th to the next.
    walker(canvas, ("leads", -10 * H), ("customers", 6 * D), ("churned", 7 * D))
    rows = buckets_of(series(owner_client, canvas, bucket="week", since="2026-03-01"))
    assert rows[:3] == [
        (iso(T0 - 9 * H - 7 * D), {"leads": 1}),  # Monday 23 February
        (iso(T0 - 9 * H), {"customers": 1}),
        (iso(T0 - 9 * H + 7 * D), {"churned": 1}),
    ]


def test_without_since_the_series_starts_at_the_first_arrival_and_ends_now(
    owner_client, canvas
) -> None:
    walker(canvas, ("leads", 0 * H))
    rows = buckets_of(series(owner_client, canvas, bucket="week"))
    assert rows[0] == (iso(T0 - 9 * H), {"leads": 1})
    assert all(nodes == {} for _, nodes in rows[1:])
    assert len(rows) > 1  # T0 is in the past: every week since is listed


def test_a_canvas_without_arrivals_has_no_buckets_unless_a_window_is_given(
    owner_client, canvas
) -> None:
    assert buckets_of(series(owner_client, canvas)) == []
    window = {"since": "2026-03-02", "until": "2026-03-04"}
    assert buckets_of(series(owner_client, canvas, **window)) == [
        (iso(T0 - 9 * H), {}),
        (iso(T0 + 15 * H), {}),
    ]


def test_day_is_the_default_bucket(owner_client, canvas) -> None:
    walker(canvas, ("leads", 0 * H))
    rows = buckets_of(series(owner_client, canvas, since="2026-03-02", until="2026-03-03"))
    assert rows == [(iso(T0 - 9 * H), {"leads": 1})]


def test_another_users_canvas_is_404(other_client, canvas) -> None:
    assert series(other_client, canvas).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"bucket": "month"}, "bucket"),
        ({"bucket": "hour", "since": "2000-01-01", "until": "2026-01-01"}, "bucket"),
        ({"since": "soon"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(owner_client, canvas, query, field) -> None:
    response = series(owner_client, canvas, **query)
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
