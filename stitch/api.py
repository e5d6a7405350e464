"""Shared pieces of the REST API: error shape, owner scoping."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flows.graph import GraphInvalid
from flows.models import Flow
from stitch.errors import FieldError

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
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view"), exc_info=exc)
        return Response(
            {"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR
        )
    return response


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


class OwnedQuerysetMixin:
    """Restrict a viewset to the requesting user's rows (others' rows are 404).

    `owner_field` is the lookup path from the model to its owning user.
    """

    owner_field = "owner"
    request: Any

    def scope(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.owner_field: self.request.user})
