from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from flows import engine
from stitch.lifespan import LifespanApp
from tests.engine.conftest import node, workflow

pytestmark = pytest.mark.django_db(transaction=True)


async def _not_called(scope, receive, send):  # pragma: no cover - lifespan never reaches it
    raise AssertionError("lifespan must not reach the router")


async def _lifecycle(app: LifespanApp, during) -> list[str]:
    inbox: asyncio.Queue = asyncio.Queue()
    sent: list[str] = []

    async def send(message):
        sent.append(message["type"])

    await inbox.put({"type": "lifespan.startup"})
    server = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
    while not sent:
        await asyncio.sleep(0.01)
    await during()
    await inbox.put({"type": "lifespan.shutdown"})
    await server
    return sent


def test_the_web_process_runs_background_jobs_between_startup_and_shutdown(
    owner, worker, settings, run_jobs
):
    settings.RUN_JOBS_IN_WEB = True
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])

    async def start_a_run_and_wait_for_its_dispatch():
        await sync_to_async(engine.run_start)(flow=flow)
        deadline = time.monotonic() + 10
        while not worker.requests and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    sent = asyncio.run(_lifecycle(LifespanApp(_not_called), start_a_run_and_wait_for_its_dispatch))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert [b["node_id"] for b in worker.bodies()] == ["a"]


def test_without_jobs_in_web_the_lifespan_only_acknowledges(settings):
    settings.RUN_JOBS_IN_WEB = False

    async def nothing():
        return None

    sent = asyncio.run(_lifecycle(LifespanApp(_not_called), nothing))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
