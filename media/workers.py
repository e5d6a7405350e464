"""The built-in `media` worker: fetch a URL and file it in the flow owner's library.

A Worker node with `data.workerType = "media"` takes `url` from its config
(`data.url`) or, when the config has none, from its input (`{"url": ...}`, e.g.
the output of an image-generating worker). Optional `name`, `description`,
`media_type`, `tags` and `metadata` follow the same rule. Output:
`{"media_id", "url", "mime_type", "media_type", "file_size"}`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import tempfile
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings

from flows.models import Run
from flows.workers import RetryableWorkerError, WorkerCall, WorkerOutcome, register_worker
from media.errors import MediaRejected
from media.serializers import MediaUpdateSerializer
from media.services import media_create
from media.storage import media_url

_MAX_REDIRECTS = 5
_SPOOL_IN_MEMORY = 5 * 1024 * 1024


class FetchFailed(Exception):
    pass


@register_worker("media")
async def media_worker(call: WorkerCall) -> WorkerOutcome:
    params = _params(call)
    url = params.get("url")
    if not isinstance(url, str) or not url:
        return WorkerOutcome("failed", error="media worker: no `url` in its config or input")
    fields = MediaUpdateSerializer(data=_field_values(params))
    if not fields.is_valid():
        field, messages = next(iter(fields.errors.items()))
        return WorkerOutcome("failed", error=f"media worker: {field}: {messages[0]}")
    data = fields.validated_data
    run = await Run.objects.select_related("flow__owner").filter(pk=call.run_id).afirst()
    if run is None:
        return WorkerOutcome("failed", error=f"media worker: unknown run {call.run_id}")
    timeout = float(call.config.get("timeoutSeconds") or settings.WORKER_DEFAULT_TIMEOUT_SECONDS)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as buffer:
        try:
            size = await fetch_to(url, buffer, timeout=timeout)
            media = await sync_to_async(media_create)(
                user=run.flow.owner,
                file=buffer,
                filename=_filename(url),
                size=size,
                name=data.get("name"),
                description=data.get("description"),
                media_type=data.get("media_type"),
                tags=data.get("tags", ()),
                metadata={
                    **data.get("metadata", {}),
                    "source_url": url,
                    "run_id": str(call.run_id),
                    "node_id": call.node_id,
                },
            )
        except (FetchFailed, MediaRejected) as exc:
            return WorkerOutcome("failed", error=f"media worker: {exc}")
    output = {
        "media_id": str(media.pk),
        "url": media_url(media, "file"),
        "mime_type": media.mime_type,
        "media_type": media.media_type,
        "file_size": media.file_size,
    }
    return WorkerOutcome("completed", output=output)


def _params(call: WorkerCall) -> dict[str, Any]:
    """Config wins over input, key by key (config is what the operator drew)."""
    given = call.input if isinstance(call.input, dict) else {}
    keys = ("url", "name", "description", "media_type", "tags", "metadata")
    return {key: call.config.get(key, given.get(key)) for key in keys}


def _field_values(params: dict[str, Any]) -> dict[str, Any]:
    """The given media fields, for the same checks an upload's fields pass (numbers
    in a tag list, e.g. from an upstream worker's output, become text)."""
    values = {k: v for k, v in params.items() if k != "url" and v is not None and v != ""}
    if isinstance(values.get("tags"), list):
        values["tags"] = [str(tag) for tag in values["tags"]]
    return values


def _filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"


async def fetch_to(url: str, buffer: IO[bytes], *, timeout: float) -> int:
    """Download `url` into `buffer` (at most MEDIA_MAX_UPLOAD_BYTES); return its size.

    Transient failures raise RetryableWorkerError (the engine retries the node with
    backoff); permanent ones FetchFailed (the node fails with the reason)."""
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    try:
        return await _download(url, buffer, timeout=timeout, limit=limit)
    except httpx.TransportError as exc:  # connect errors, timeouts, broken streams
        raise RetryableWorkerError(f"GET {url} failed: {exc!r}") from exc


async def _download(url: str, buffer: IO[bytes], *, timeout: float, limit: int) -> int:
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _hop in range(_MAX_REDIRECTS + 1):
            await check_url(url)
            async with client.stream("GET", url) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                _check_status(url, response.status_code)
                declared = int(response.headers.get("content-length") or 0)
                if declared > limit:
                    raise FetchFailed(f"{url} is larger than the {limit}-byte limit")
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise FetchFailed(f"{url} is larger than the {limit}-byte limit")
                    buffer.write(chunk)
                buffer.seek(0)
                return size
    raise FetchFailed(f"{url}: more than {_MAX_REDIRECTS} redirects")


def _check_status(url: str, status: int) -> None:
    """As for HTTP workers: 5xx and 429 are worth a retry, other errors fail at once."""
    if status >= 500 or status == 429:
        raise RetryableWorkerError(f"GET {url} answered {status}")
    if not 200 <= status < 300:
        raise FetchFailed(f"GET {url} answered {status}")


async def check_url(url: str) -> None:
    """Only http(s); with WORKER_ALLOW_PRIVATE_ADDRESSES off, only public addresses.

    Checked on every redirect hop. (A DNS answer could still change between this
    check and the connect; deployments that need a hard guarantee should also
    filter egress at the network level.)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"only http(s) URLs can be fetched, not {url!r}")
    if settings.WORKER_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443)
    except OSError as exc:
        raise RetryableWorkerError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise FetchFailed(f"{parts.hostname} resolves to non-public address {address}")
