"""One real uvicorn process for every test in this package (SPEC 7, 10: hostile input).

The server runs the product's own settings with DEBUG off, against the test database,
with no background jobs in the web process (nothing here needs them, and a poison body
must be refused at the door, not by a job). Tests create what they need with
`transactional_db`, so the server sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.entities.live_servers import (
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)


@dataclass(frozen=True)
class LiveServer:
    port: int
    logs: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@pytest.fixture(scope="package")
def server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("hostile-server")
    port = free_port()
    # child_env passes the test process's secrets: callback tokens it computes are valid.
    env = child_env(
        DEBUG="false",  # what production runs: no debug pages, no tracebacks
        RUN_JOBS_IN_WEB="false",
        MEDIA_ROOT=str(base / "media"),
        STITCH_VAR_DIR=str(base / "var"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    logs = base / "logs"
    with processes([uvicorn_command(port)], env, logs):
        wait_until_serving(port)
        live = LiveServer(port=port, logs=logs)
        yield live
        assert live.healthy(), "the server stopped answering /healthz"
        log = live.log_text()
        # Django logs every 500 with its traceback; none may have happened.
        assert "Traceback" not in log and "Internal Server Error" not in log, log[-5000:]
