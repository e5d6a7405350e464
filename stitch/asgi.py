"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stitch.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from entities.consumers import keep_server_send  # noqa: E402
from flows.callback_route import CallbackRoute  # noqa: E402
from stitch.bodylimit import BodyLimitMiddleware  # noqa: E402
from stitch.lifespan import LifespanApp  # noqa: E402
from stitch.routing import websocket_urlpatterns  # noqa: E402
from webhooks.asgi_intake import IntakeRoute  # noqa: E402

# LifespanApp answers the "lifespan" scope (starting the in-process job worker when
# RUN_JOBS_IN_WEB) and hands every other scope to the router. BodyLimitMiddleware refuses
# a body over its route's limit while it arrives (Django would read it all first), for
# every route behind it. CallbackRoute answers worker callbacks without Django's stack
# (the engine's hottest request, flows/callbacks.py shared with the DRF view).
application = LifespanApp(
    ProtocolTypeRouter(
        {
            # IntakeRoute answers ordinary webhook deliveries without Django (group
            # commit, webhooks/asgi_intake.py).
            "http": BodyLimitMiddleware(CallbackRoute(IntakeRoute(django_asgi_app))),
            "websocket": keep_server_send(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)

# What is loaded by now (Django, the apps, their modules) lives as long as the process:
# keep it out of the garbage collector's full passes, which then scan only what requests
# and sockets create (bench/realtime.py: gen-2 pauses of 70-150 ms in a busy web process,
# the in-process layer's p99, fell to under 10 ms).
gc.collect()
gc.freeze()
