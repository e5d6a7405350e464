"""Per-process cache of webhook endpoints, keyed by slug (issue 11: one round trip per
delivery).

Nothing needs invalidating by hand: the statement that stores a delivery
(`sql.EVENTS_ACCEPT`) checks that the config is still active with the source, secret and
require_signature the request was verified against, and stores nothing otherwise; the
caller then forgets the entry and handles the request again with the config read afresh.
A delivery a cached config would refuse (a bad signature: the secret may have been
rotated; an inactive endpoint) is likewise decided again on a fresh read before it is
refused. Only found, active endpoints are cached, so unknown slugs cannot fill it.
"""

from __future__ import annotations

import threading

from webhooks.models import WebhookConfig

# More endpoints than one deployment has; past it the cache starts over.
MAX_CACHED = 4096

_cache: dict[str, WebhookConfig] = {}
_lock = threading.Lock()


def cached(slug: str) -> WebhookConfig | None:
    return _cache.get(slug)


def load(slug: str) -> WebhookConfig | None:
    """The endpoint as stored now (cached when active), or None when there is none."""
    config = WebhookConfig.objects.filter(endpoint_slug=slug).first()
    if config is None or not config.is_active:
        forget(slug)
        return config
    with _lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[slug] = config
    return config


def forget(slug: str) -> None:
    with _lock:
        _cache.pop(slug, None)


def clear() -> None:
    with _lock:
        _cache.clear()
