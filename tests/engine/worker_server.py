"""A real HTTP worker on 127.0.0.1 for engine tests: records every dispatch and answers
from a per-node script (status code + JSON body), default `200 {"accepted": true}`."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    # A batch's dispatches arrive together: the default listen backlog of 5 would drop
    # connection attempts past it (the client's SYN is retried only a second later).
    request_queue_size = 128
    daemon_threads = True


class WorkerServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.scripts: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        self.replies: dict[str, tuple[int, Any]] = {}
        # Seconds to wait before answering (a slow worker).
        self.delay = 0.0
        # Seconds to wait before answering the next dispatches of a node (`pause`).
        self.pauses: dict[str, list[float]] = defaultdict(list)
        # Extra response headers (`Retry-After`, say) per node id.
        self.headers: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"null")
                code, reply = server.record(self.path, raw, body, dict(self.headers))
                node_id = body.get("node_id", "") if isinstance(body, dict) else ""
                wait = server.delay
                with server.lock:
                    if server.pauses.get(node_id):
                        wait = server.pauses[node_id].pop(0)
                if wait:
                    time.sleep(wait)
                # bytes are sent as they are (a body that is not JSON, or broken JSON)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in server.headers.get(node_id, {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self.do_POST()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/work"

    def record(self, path: str, raw: bytes, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        node_id = body.get("node_id", "") if isinstance(body, dict) else ""
        with self.lock:
            self.requests.append(
                {"path": path, "raw": raw, "body": body, "headers": headers, "at": time.monotonic()}
            )
            template = node_id.rsplit("_", 1)[0]
            for key in (node_id, template):
                if self.scripts.get(key):
                    return self.scripts[key].pop(0)
            for key in (node_id, template):
                if key in self.replies:
                    return self.replies[key]
        return 200, {"accepted": True}

    def script(self, node_id: str, *answers: tuple[int, Any]) -> None:
        """Answers for the next dispatches of `node_id` (or of all its instances)."""
        self.scripts[node_id].extend(answers)

    def pause(self, node_id: str, *seconds: float) -> None:
        """Answer the next dispatches of `node_id` only after these many seconds."""
        self.pauses[node_id].extend(seconds)

    def always(self, node_id: str, code: int, body: Any) -> None:
        self.replies[node_id] = (code, body)

    def bodies(self, node_id: str | None = None) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if node_id in (None, r["body"]["node_id"])]

    def start(self) -> WorkerServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
