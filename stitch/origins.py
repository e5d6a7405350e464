"""The site's own origin, for websockets authenticated by the session cookie (SPEC 9).

Browsers send cookies with a websocket opened by any page, so the Origin must name
this site exactly: scheme, host and port equal to PUBLIC_BASE_URL's or to the URL the
request itself was made to (its Host header, https when the connection or the configured
proxy header says so). Not ALLOWED_HOSTS: its `.example.com` and `*` patterns would let
any subdomain, scheme or port ride a user's cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _request_is_https(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return False
    meta_name, expected = proxy
    header = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode()
    return _header(scope, header) == expected


def site_origins(scope: dict[str, Any]) -> set[Origin]:
    own = f"{'https' if _request_is_https(scope) else 'http'}://{_header(scope, b'host')}"
    return {o for o in (parse_origin(settings.PUBLIC_BASE_URL), parse_origin(own)) if o}


def same_origin(scope: dict[str, Any]) -> bool:
    """True for a page of this site, or no Origin at all (not a browser: no ambient
    cookie to abuse)."""
    origin = _header(scope, b"origin")
    if not origin:
        return True
    parsed = parse_origin(origin)
    return parsed is not None and parsed in site_origins(scope)
