"""Model fields of the entities app."""

from __future__ import annotations

from typing import Any

from django.db import models


class EmailAddressField(models.TextField):
    """An e-mail address, written and compared in lower case (SPEC 6: case never tells
    two people apart).

    Lower-casing in `get_prep_value` covers every write (services, the admin, webhook
    processing, factories, `update()`) and every lookup value (`filter(email=...)`), so
    no path can store a second spelling of an address the unique constraint would miss.
    """

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value.lower() if isinstance(value, str) else value
