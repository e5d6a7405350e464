"""Look inside an uploaded file: sniffed MIME type, media family, image size, duration.

Pure functions over a seekable binary file; nothing here touches storage or the
database. The client's filename and Content-Type are never consulted: a PNG
named `report.pdf` is an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import IO

import filetype
import mutagen
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from media.errors import MediaRejected
from media.models import MediaType

# filetype needs at most the first 8 KiB to recognise every format it knows.
SNIFF_BYTES = 8192

# media_type values a file of each family may be filed under; the first is the default.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image": (MediaType.IMAGE, MediaType.WIREFRAME, MediaType.STYLE_REFERENCE),
    "video": (MediaType.VIDEO,),
    "audio": (MediaType.AUDIO,),
    "pdf": (MediaType.DOCUMENT,),
}


@dataclass(frozen=True)
class Probe:
    mime_type: str
    extension: str
    family: str  # a key of ALLOWED_TYPES
    width: int | None = None
    height: int | None = None
    duration: Decimal | None = None


def probe_file(file: IO[bytes], *, label: str = "file") -> Probe:
    """Sniff `file` and read what can be read cheaply; raise MediaRejected (415/400)."""
    file.seek(0)
    kind = filetype.guess(file.read(SNIFF_BYTES))
    file.seek(0)
    if kind is None:
        raise MediaRejected(
            label,
            "Unrecognised file type: not accepted; upload an image, video, audio or PDF.",
            415,
        )
    family = family_of(kind.mime)
    if family is None:
        raise MediaRejected(
            label,
            f"Files of type {kind.mime} are not accepted; upload an image, video, audio or PDF.",
            415,
        )
    width = height = None
    if family == "image":
        width, height = image_size(file, label=label)
    duration = _duration(file) if family in ("audio", "video") else None
    file.seek(0)
    return Probe(kind.mime, kind.extension, family, width, height, duration)


def resolve_media_type(probe: Probe, requested: str | None) -> str:
    """The requested media_type if it fits the file's family, else a 400 naming it."""
    allowed = ALLOWED_TYPES[probe.family]
    if not requested:
        return str(allowed[0])
    if requested not in allowed:
        names = ", ".join(str(t) for t in allowed)
        raise MediaRejected(
            "media_type",
            f"'{requested}' does not fit a {probe.mime_type} file; use one of: {names}.",
            400,
        )
    return requested


def image_size(file: IO[bytes], *, label: str = "file") -> tuple[int | None, int | None]:
    """Width and height from the image header, refusing decompression bombs.

    Only the header is parsed here; pixels are decoded later by the thumbnail job,
    which is why the pixel cap must hold before the row is written.
    """
    file.seek(0)
    try:
        # Pillow itself raises DecompressionBombError past 2 x MAX_IMAGE_PIXELS;
        # our own (lower) cap is checked below. No warnings filter games here:
        # they are process-global and uploads are handled on several threads.
        with Image.open(file) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise _bomb(label) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        # A format filetype knows but Pillow cannot read (e.g. HEIC): keep the
        # file, without dimensions or a thumbnail.
        return None, None
    finally:
        file.seek(0)
    if width * height > settings.MEDIA_MAX_IMAGE_PIXELS:
        raise _bomb(label)
    return width, height


def _bomb(label: str) -> MediaRejected:
    return MediaRejected(
        label,
        f"The image is too large to decode (over {settings.MEDIA_MAX_IMAGE_PIXELS} pixels).",
        400,
    )


def family_of(mime: str) -> str | None:
    if mime == "application/pdf":
        return "pdf"
    head = mime.split("/", 1)[0]
    return head if head in ("image", "video", "audio") else None


def _duration(file: IO[bytes]) -> Decimal | None:
    """Seconds of audio/video when mutagen can read them from the headers (WAV, MP3,
    MP4/M4A, OGG, FLAC, AIFF...); None for containers it does not parse (WebM, AVI)."""
    file.seek(0)
    try:
        parsed = mutagen.File(file)
    except Exception:  # mutagen raises a zoo of errors on truncated or odd files
        return None
    finally:
        file.seek(0)
    length = getattr(getattr(parsed, "info", None), "length", None)
    if not length or length <= 0:
        return None
    return Decimal(str(round(float(length), 3)))
