"""HTTP spoken over a raw socket: bodies streamed chunk by chunk, answers read while
sending, so a test sees exactly how much went out before the server answered."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the kernel had accepted from us when the answer came

    def json(self) -> Any:
        return json.loads(self.body)


def _head(method: str, path: str, port: int, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """The answer in `raw` once it is complete (Content-Length framed), else None."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(rest) < length:
        return None
    return int(status_line.split()[1]), headers, rest[:length]


def stream(
    port: int,
    path: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    give_up_after: int,
    chunked: bool = True,
    timeout: float = 15.0,
) -> Answer:
    """Send an endless body (chunked, or whatever `headers` declare) until the server
    answers, but never more than `give_up_after` bytes; AssertionError when no answer
    comes within `timeout` seconds."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if chunked:
        all_headers["Transfer-Encoding"] = "chunked"
    # A small send buffer keeps "accepted by the kernel" close to "read by the server".
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    sock.connect(("127.0.0.1", port))
    try:
        sock.sendall(_head(method, path, port, all_headers))
        payload = b"[" + b"1," * (CHUNK // 2 - 1) + b"1"  # valid-looking JSON, never closed
        piece = (b"%x\r\n" % len(payload) + payload + b"\r\n") if chunked else payload
        return _pump(sock, piece, give_up_after, timeout)
    finally:
        sock.close()


def _pump(sock: socket.socket, piece: bytes, give_up_after: int, timeout: float) -> Answer:
    sock.setblocking(False)
    received = b""
    sent = 0
    pending = memoryview(piece)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock] if sent < give_up_after else [], [], 1)
        if readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            received += data
            parsed = _parse(received)
            if parsed is not None:
                return Answer(*parsed, sent=sent)
            if not data:
                raise AssertionError(f"connection closed without an answer after {sent} bytes")
        elif writable:
            try:
                count = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                continue  # closed by the server: its answer may still be readable
            sent += count
            pending = pending[count:] if count < len(pending) else memoryview(piece)
    raise AssertionError(f"no answer within {timeout} s ({sent} body bytes sent)")
