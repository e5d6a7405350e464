"""Domain errors that services raise and the API turns into 400/404/409 responses."""

from __future__ import annotations


class FieldError(ValueError):
    """A refused request; `field` names the request field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(LookupError):
    """The thing named by the request does not exist (404)."""


class Conflict(Exception):
    """The request contradicts the current state of the thing it names (409)."""
