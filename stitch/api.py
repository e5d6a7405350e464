"""Shared pieces of the REST API: error shape, owner scoping."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flows.graph import GraphInvalid
from flows.models import Flow
from stitch.errors import Conflict, FieldError, NotFound

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF errors as usual; domain errors as 400 naming the field; anything else a
    plain 500 (logged with its traceback, which never reaches the client)."""
    if isinstance(exc, GraphInvalid):
        exc = ValidationError({"graph": [p.as_dict() for p in exc.problems]})
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail)
    elif isinstance(exc, FieldError):
        exc = ValidationError({exc.field: [exc.message]})
    elif isinstance(exc, NotFound):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": "Still in use by other records; remove those first."},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    return response


class Pagination(PageNumberPagination):
    """`?page=N` and `?page_size=N` (capped, so one request cannot dump a table)."""

    page_size_query_param = "page_size"
    max_page_size = 500


def limit_to_owned_flows(serializer: serializers.Serializer, *field_names: str) -> None:
    """Let related-flow fields accept only the caller's own flows (others: 400 "does not exist")."""
    request = serializer.context.get("request")
    if request is None or not request.user.is_authenticated:
        return
    owned = Flow.objects.filter(owner=request.user)
    for name in field_names:
        field = serializer.fields[name]
        assert isinstance(field, serializers.PrimaryKeyRelatedField)
        field.queryset = owned


class FieldSelectionMixin:
    """`?fields=a,b` on GET: answer only those fields of each object (400 naming `fields`
    for a name the representation does not have). Lets a client keep big lists small."""

    request: Any

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)  # type: ignore[misc]
        requested = self.request.query_params.get("fields") if self.request else None
        if requested is None or self.request.method != "GET":
            return serializer
        target: Any = (
            serializer.child if isinstance(serializer, serializers.ListSerializer) else serializer
        )
        names = [name.strip() for name in requested.split(",") if name.strip()]
        unknown = [name for name in names if name not in target.fields]
        if not names or unknown:
            choices = ", ".join(target.fields)
            raise ValidationError({"fields": [f"Choose fields among: {choices}."]})
        for name in list(target.fields):
            if name not in names:
                target.fields.pop(name)
        return serializer


FIELDS_PARAMETER = OpenApiParameter(
    "fields",
    str,
    description="Comma-separated fields to return (default: all of this representation).",
)


class OwnedQuerysetMixin:
    """Restrict a viewset to the requesting user's rows (others' rows are 404).

    `owner_field` is the lookup path from the model to its owning user.
    """

    owner_field = "owner"
    request: Any

    def scope(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        user = getattr(self.request, "user", None)
        # Schema generation (swagger_fake_view) runs with an anonymous user: it only
        # needs the model, and filtering on AnonymousUser would raise.
        if getattr(self, "swagger_fake_view", False) or user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(**{self.owner_field: user})


@csrf_exempt  # a POST to an unknown URL is a 404, not a CSRF failure page
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Last /api/ route: unknown URLs answer JSON, never Django's HTML 404 page.

    A known URL missing its trailing slash is redirected with 308, which (unlike
    Django's APPEND_SLASH 301) keeps the method and body of a POST.
    """
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            query = request.META.get("QUERY_STRING")
            target = request.path + "/" + (f"?{query}" if query else "")
            response = HttpResponseRedirect(target)
            response.status_code = 308
            return response
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/ (clients parse it), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
