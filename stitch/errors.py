"""Domain errors that services raise and the API turns into 400 responses."""

from __future__ import annotations


class FieldError(ValueError):
    """A refused request; `field` names the request field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
