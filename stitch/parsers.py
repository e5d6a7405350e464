"""DRF's JSON parser, reading bodies through `stitch.jsondata` (SPEC 10).

DRF's own parser accepts what PostgreSQL then refuses (NUL, lone surrogates, `1e400`,
deep nesting), which surfaced as 500s on insert. This one answers 400 naming the
field at fault (`{"metadata": ["metadata.note: must not contain ..."]}`).
"""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser

from stitch import jsondata


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            # DRF hands an empty body through as no stream at all; keep its meaning.
            return {}
        try:
            return jsondata.loads(raw)
        except jsondata.JSONDataError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
