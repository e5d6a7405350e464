"""Query-string filters shared by the API's list endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, handed to the database in UTC.

    Python accepts UTC offsets up to 23:59, PostgreSQL only up to 15:59, and a moment
    near year 1 or 9999 can leave the calendar once moved to UTC: both used to reach the
    query and fail there (a 500) instead of being a 400 naming the parameter.
    """

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a datetime within years 1-9999 in UTC.") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField
