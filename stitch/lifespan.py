"""ASGI lifespan wrapper: runs the background-job worker inside the web process.

Django's ASGI app does not handle the "lifespan" scope. With RUN_JOBS_IN_WEB (the
default without REDIS_URL, so `make run` is one process), startup opens a
procrastinate worker on the server's event loop and shutdown stops it; otherwise
jobs run in separate `manage.py procrastinate worker` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)
Scope = dict[str, Any]


class LifespanApp:
    def __init__(self, app: Any):
        self.app = app
        self._worker: asyncio.Task[None] | None = None
        self._worker_app: Any = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        if not settings.RUN_JOBS_IN_WEB:
            return
        from procrastinate.contrib.django import DjangoApp, app

        # A separate app on a pooled psycopg connector (LISTEN/NOTIFY, own connections)
        # that shares the task registry. The global app keeps Django's connector, so
        # request code still defers jobs inside its own transactions.
        worker_app = DjangoApp(
            connector=app.connector.get_worker_connector(),  # type: ignore[attr-defined]
            worker_defaults=app.worker_defaults,
        )
        worker_app.tasks = app.tasks
        worker_app.periodic_registry = app.periodic_registry
        await worker_app.open_async()
        self._worker_app = worker_app
        self._worker = asyncio.create_task(
            worker_app.run_worker_async(install_signal_handlers=False, name="web")
        )
        logger.info("background jobs run in this web process")

    async def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._worker_app is not None:
            await self._worker_app.close_async()
            self._worker_app = None
