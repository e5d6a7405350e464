"""Why an upload was refused, with the HTTP status the API answers with."""

from __future__ import annotations

from stitch.errors import FieldError


class MediaRejected(FieldError):
    """A refused file or field. `status_code` is 400 (bad value), 413 (too large)
    or 415 (type not accepted); the view answers `{field: [message]}` with it."""

    def __init__(self, field: str, message: str, status_code: int = 400):
        super().__init__(field, message)
        self.status_code = status_code
