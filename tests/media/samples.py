"""Tiny media files generated in code, one per kind the library accepts (and a few it
must refuse). Containers are built to the byte so `filetype` sniffs them as real ones."""

from __future__ import annotations

import io
import struct
import wave
import zlib

from PIL import Image


def image(fmt: str = "PNG", size: tuple[int, int] = (640, 480), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color="teal" if mode == "RGB" else None).save(out, format=fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    return image("PNG", size)


def jpeg(size: tuple[int, int] = (400, 1000)) -> bytes:
    return image("JPEG", size)


def gif(size: tuple[int, int] = (50, 30)) -> bytes:
    return image("GIF", size, mode="P")


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def wav(seconds: float = 1.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(b"\x80" * int(seconds * rate))
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: int = 3) -> bytes:
    """ftyp + moov/mvhd: enough for filetype (video/mp4) and mutagen (duration)."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    timescale = 1000
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, seconds * timescale)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd)


def webm() -> bytes:
    """An EBML header whose DocType is "webm" (no clusters)."""
    header = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        b"\x42\x82\x84webm"  # DocType
        b"\x42\x87\x81\x02"  # DocTypeVersion 2
        b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67\x80"


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    return out.getvalue()
