"""A workflow with a `workerType: "media"` Worker files the fetched image in the flow
owner's library through the engine (dispatch job -> built-in worker -> completion)."""

from __future__ import annotations

import pytest

from flows import engine
from flows.models import Run
from media.models import Media
from tests.engine.conftest import node, workflow
from tests.media.test_media_worker import files_server  # noqa: F401  (fixture)


@pytest.mark.django_db(transaction=True)
def test_a_media_worker_node_stores_the_fetched_image_for_the_flow_owner(
    owner,
    other,
    files_server: str,  # noqa: F811  (the fixture imported above)
    run_jobs,
) -> None:
    flow = workflow(
        owner,
        [
            node(
                "fetch",
                workerType="media",
                url=f"{files_server}/art/hero%20shot.png",
                tags=["hero"],
            )
        ],
        [],
    )
    run = engine.run_start(flow=flow, input={})
    run_jobs()

    states = engine.node_states(Run.objects.get(pk=run.pk))
    assert states["fetch"]["status"] == "completed", states["fetch"]
    media = Media.objects.get(pk=states["fetch"]["output"]["media_id"])
    assert media.user == owner
    assert (media.mime_type, media.width, media.height) == ("image/png", 900, 300)
    assert media.tags == ["hero"]
    assert not Media.objects.filter(user=other).exists()
