from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from media.models import Media
from media.serializers import MediaSerializer
from stitch.api import OwnedQuerysetMixin


class MediaViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = MediaSerializer
    owner_field = "user"

    def get_queryset(self) -> QuerySet[Media]:
        return self.scope(Media.objects.all())
