"""Per-request context: the request id, the ids in the URL, metrics, the optional
request log line.

Sync and async capable, so under ASGI it adds no thread hop. Context variables bound
here follow the request into its view (asgiref copies them into the view's thread),
into `transaction.on_commit` callbacks and into the jobs the request defers
(`stitch.logs.job_kwargs`). Under ASGI every request runs in its own task, so nothing
bound here outlives it; the sync path runs the request in a copied context for the
same reason.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from stitch import logs, metrics

logger = logging.getLogger("stitch.requests")
HEADER = "X-Request-ID"
_META_HEADER = "HTTP_X_REQUEST_ID"
# URL arguments worth carrying on every line the request logs.
_URL_IDS = ("run_id", "node_id", "event_id", "entity_id", "flow_id")
_routes: dict[str, str] = {}


class RequestContextMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return contextvars.copy_context().run(self._call, request)

    def _call(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = _begin(request)
        response = self.get_response(request)
        return _finish(request, response, request_id, started)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = _begin(request)
        response = await self.get_response(request)
        return _finish(request, response, request_id, started)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> None:
        ids = {name: kwargs[name] for name in _URL_IDS if name in kwargs}
        if ids:
            logs.bind_ids(**ids)


def _begin(request: HttpRequest) -> str:
    # META, not request.headers: building HttpHeaders costs ~15 µs a request.
    request_id = logs.request_id_from(request.META.get(_META_HEADER))
    logs.bind_ids(request_id=request_id)
    return request_id


def _finish(
    request: HttpRequest, response: HttpResponseBase, request_id: str, started: float
) -> HttpResponseBase:
    seconds = time.perf_counter() - started
    route = route_of(request)
    metrics.record_request(
        method=request.method, route=route, status=response.status_code, seconds=seconds
    )
    response[HEADER] = request_id
    if settings.LOG_REQUESTS:
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "client": request.META.get("REMOTE_ADDR"),
            },
        )
    return response


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request (bounded: one per pattern), not the path."""
    return _route_name(getattr(request, "resolver_match", None), request.path)


def route_of_path(path: str) -> str:
    """The same name for a request answered before Django routed it (the body layer)."""
    try:
        match: ResolverMatch | None = resolve(path)
    except Resolver404:
        match = None
    return _route_name(match, path)


def _route_name(match: ResolverMatch | None, path: str) -> str:
    if match is None:
        return "static" if path.startswith(settings.STATIC_URL) else "unmatched"
    raw = match.route
    route = _routes.get(raw)
    if route is None:
        # Router patterns are regexes ("api/flows/(?P<pk>[^/.]+)/$"): drop the anchors.
        route = _routes[raw] = "/" + raw.removeprefix("^").removesuffix("$")
    return route
