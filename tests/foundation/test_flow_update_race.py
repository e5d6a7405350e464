"""Concurrent graph saves of one flow each get their own version number."""

from __future__ import annotations

import copy
import threading

import pytest
from django.db import connection

from flows import services
from flows.models import Flow
from tests.factories import FlowFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_parallel_graph_saves_get_distinct_version_numbers() -> None:
    flow = FlowFactory.create(owner=UserFactory.create())
    saves = 4
    barrier = threading.Barrier(saves)
    errors: list[BaseException] = []

    def save(label: str) -> None:
        try:
            graph = copy.deepcopy(flow.graph)
            graph["nodes"][0]["data"]["label"] = label
            barrier.wait(timeout=10)
            services.flow_update(flow=Flow.objects.get(pk=flow.pk), graph=graph)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(f"v{i}",)) for i in range(saves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    numbers = sorted(flow.versions.values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
    flow.refresh_from_db()
    assert flow.current_version is not None
    assert flow.current_version.number == 5
    assert flow.current_version.graph == flow.graph
