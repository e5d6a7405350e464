from __future__ import annotations

from typing import Any, cast

from django.db.models import Q, QuerySet
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from media.errors import MediaRejected
from media.models import Media, MediaType
from media.serializers import MediaSerializer, MediaUpdateSerializer, MediaUploadSerializer
from media.services import check_size, media_create, media_delete, media_update
from media.storage import file_response
from stitch.api import OwnedQuerysetMixin
from stitch.models import User
from stitch.parsers import JSONParser

# Room for the multipart envelope and the form fields around the file (the same
# allowance DATA_UPLOAD_MAX_MEMORY_SIZE gives them); the exact check is on the file.
_MULTIPART_SLACK = 1024 * 1024


class IgnoreAcceptHeader(BaseContentNegotiation):
    """File endpoints answer with the file whatever `Accept` says (an <img> asks
    for image/*, which no DRF renderer offers)."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("media_type", enum=MediaType.values),
            OpenApiParameter("tag", many=True, description="Repeatable; all must match."),
            OpenApiParameter("search", description="Name or description contains (any case)."),
        ]
    ),
    create=extend_schema(request=MediaUploadSerializer, responses={201: MediaSerializer}),
    partial_update=extend_schema(request=MediaUpdateSerializer, responses=MediaSerializer),
)
class MediaViewSet(
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MediaSerializer
    owner_field = "user"
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Media]:
        queryset = self.scope(Media.objects.all())
        if self.action != "list":
            return queryset
        return _filter(queryset, self.request)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Refuse an oversized body from its Content-Length, before parsing it.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        try:
            check_size(max(declared - _MULTIPART_SLACK, 0))
            upload = MediaUploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            data = dict(upload.validated_data)
            file = data.pop("file")
            media = media_create(
                user=cast(User, request.user),
                file=file,
                filename=file.name or "",
                size=file.size,
                **data,
            )
        except MediaRejected as exc:
            return Response({exc.field: [exc.message]}, status=exc.status_code)
        body = self.get_serializer(media).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        media = self.get_object()
        changes = MediaUpdateSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        media = media_update(media=media, changes=dict(changes.validated_data))
        return Response(self.get_serializer(media).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        media_delete(media=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptHeader)
    def file(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        return file_response(self.get_object(), "file")

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptHeader)
    def thumbnail(self, request: Request, pk: str | None = None) -> HttpResponseBase:
        return file_response(self.get_object(), "thumbnail")


def _filter(queryset: QuerySet[Media], request: Request) -> QuerySet[Media]:
    params = request.query_params
    for name in ("media_type", "tag", "search"):
        # PostgreSQL text cannot hold NUL: a 400 naming the parameter, not a 500.
        if any("\x00" in value for value in params.getlist(name)):
            raise ValidationError({name: ["Must not contain NUL (\\u0000) characters."]})
    media_type = params.get("media_type")
    if media_type:
        if media_type not in MediaType.values:
            choices = ", ".join(MediaType.values)
            raise ValidationError({"media_type": [f"Unknown media_type; use one of: {choices}."]})
        queryset = queryset.filter(media_type=media_type)
    tags = [tag.strip() for tag in params.getlist("tag") if tag.strip()]
    if tags:
        # Array containment (@>): every given tag must be present; GIN-indexed.
        queryset = queryset.filter(tags__contains=tags)
    search = params.get("search", "").strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return queryset
