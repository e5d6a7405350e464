"""The built-in `media` worker: fetches a URL from a real HTTP server on 127.0.0.1 and
files it in the flow owner's library."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from pytest_django.fixtures import Settings as SettingsWrapper

from flows.models import Run
from flows.workers import RetryableWorkerError, WorkerCall, WorkerOutcome, builtin_worker
from media.models import Media
from tests.factories import RunFactory
from tests.media import samples
from tests.media.conftest import StoredFiles

pytestmark = pytest.mark.django_db

ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/art/hero%20shot.png": (200, "image/png", samples.png((900, 300))),
    "/clip.mp4": (200, "application/octet-stream", samples.mp4(seconds=2)),
    "/notes.txt": (200, "image/png", b"plain text pretending to be an image"),
    "/big.png": (200, "image/png", samples.png((2000, 2000))),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/busy":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/art/hero%20shot.png")
            self.end_headers()
            return
        status, content_type, body = ROUTES.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def run() -> Run:
    return RunFactory.create()


def call_worker(run: Run, *, config: dict | None = None, input: Any = None) -> WorkerOutcome:
    worker = builtin_worker("media")
    assert worker is not None, "the media worker is registered at start-up"
    call = WorkerCall(run_id=str(run.id), node_id="fetch", input=input or {}, config=config or {})
    return async_to_sync(worker)(call)


def test_it_stores_the_url_in_the_flow_owners_library(
    run: Run, files_server: str, local_storage: StoredFiles
) -> None:
    outcome = call_worker(
        run, config={"url": f"{files_server}/art/hero%20shot.png", "tags": ["generated"]}
    )
    assert outcome.status == "completed", outcome.error
    media = Media.objects.get(pk=outcome.output["media_id"])
    assert media.user == run.flow.owner
    assert (media.name, media.mime_type, media.media_type) == (
        "hero shot.png",
        "image/png",
        "image",
    )
    assert (media.width, media.height) == (900, 300)
    assert media.tags == ["generated"]
    assert media.metadata["source_url"] == f"{files_server}/art/hero%20shot.png"
    assert media.metadata["run_id"] == str(run.id)
    assert outcome.output["url"].endswith(f"/api/media/{media.pk}/file/")
    assert local_storage.read(media.file_path) == ROUTES["/art/hero%20shot.png"][2]


def test_the_url_may_come_from_the_nodes_input(run: Run, files_server: str) -> None:
    outcome = call_worker(run, input={"url": f"{files_server}/clip.mp4", "name": "Intro"})
    assert outcome.status == "completed", outcome.error
    assert outcome.output["media_type"] == "video"
    assert Media.objects.get(pk=outcome.output["media_id"]).name == "Intro"


def test_redirects_are_followed(run: Run, files_server: str) -> None:
    outcome = call_worker(run, config={"url": f"{files_server}/moved"})
    assert outcome.status == "completed", outcome.error
    assert outcome.output["mime_type"] == "image/png"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing.png", "answered 404"),
        ("/notes.txt", "not accepted"),
        ("/big.png", "limit"),
        ("/loop", "more than 5 redirects"),
    ],
)
def test_failures_fail_the_node_with_a_reason(
    run: Run,
    files_server: str,
    path: str,
    error: str,
    settings: SettingsWrapper,
    local_storage: StoredFiles,
) -> None:
    settings.MEDIA_MAX_UPLOAD_BYTES = 10_000
    outcome = call_worker(run, config={"url": f"{files_server}{path}"})
    assert outcome.status == "failed"
    assert outcome.error is not None and error in outcome.error
    assert not Media.objects.exists()
    assert local_storage.keys() == set()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "", None])
def test_only_http_urls_are_fetched(run: Run, url: str | None) -> None:
    outcome = call_worker(run, config={"url": url})
    assert outcome.status == "failed"
    assert not Media.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"metadata": ["not", "an", "object"]}, "metadata: Must be a JSON object."),
        ({"media_type": "banana"}, "media_type:"),
        ({"tags": {"a": 1}}, "tags:"),
    ],
)
def test_bad_media_fields_fail_the_node_naming_the_field(
    run: Run, files_server: str, fields: dict[str, Any], error: str, local_storage: StoredFiles
) -> None:
    outcome = call_worker(run, config={"url": f"{files_server}/art/hero%20shot.png", **fields})
    assert outcome.status == "failed"
    assert outcome.error is not None and error in outcome.error
    assert not Media.objects.exists()
    assert local_storage.keys() == set()


def test_private_addresses_are_refused_when_the_setting_says_so(
    run: Run, files_server: str, settings: SettingsWrapper
) -> None:
    settings.WORKER_ALLOW_PRIVATE_ADDRESSES = False
    outcome = call_worker(run, config={"url": f"{files_server}/art/hero%20shot.png"})
    assert outcome.status == "failed"
    assert outcome.error is not None and "non-public address 127.0.0.1" in outcome.error
    assert not Media.objects.exists()


def test_a_busy_server_is_a_retryable_failure(run: Run, files_server: str) -> None:
    with pytest.raises(RetryableWorkerError, match="503"):
        call_worker(run, config={"url": f"{files_server}/busy"})


def test_an_unreachable_server_is_a_retryable_failure(run: Run) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(RetryableWorkerError):
        call_worker(run, config={"url": f"http://127.0.0.1:{port}/x.png", "timeoutSeconds": 2})
    assert not Media.objects.exists()
