"""Settings for Stitch, all read from the environment (see README: Configuration)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from stitch import remembered
from stitch.database import embedded_database_url, parse_database_url
from stitch.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_secrets,
    env_str,
    remember,
)
from stitch.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = remembered.var_dir()

# The demo's settings, remembered under var/ by `make run` (SPEC 12), so a plain
# `manage.py <command>` in that checkout works. The environment always wins, and a
# process told DEBUG=false (production) never reads them.
if env_bool("DEBUG", True):
    remember(remembered.read(VAR_DIR / remembered.FILENAME))
DEBUG = env_bool("DEBUG", False)
_secret = env_str("SECRET_KEY")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=true")
    _secret = "insecure-dev-only-secret-key-do-not-use-in-production"
SECRET_KEY: str = _secret

# Public base URL used to build absolute callback and webhook URLs handed to the
# outside world (workers, providers). Requests are not trusted for this.
# Defaults to the local server on PORT (what `make run` serves), so callbacks reach it.
PORT = env_int("PORT", 8000, minimum=1)
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in ("http", "https") or not _public.hostname:
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an absolute http(s) URL")
PUBLIC_ORIGIN = f"{_public.scheme}://{_public.netloc}"
PUBLIC_IS_HTTPS = _public.scheme == "https"

# The public host is always served; its origin is trusted for CSRF (forms behind a proxy).
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
if _public.hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_public.hostname)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
if PUBLIC_ORIGIN not in CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS.append(PUBLIC_ORIGIN)

# --- HTTPS and proxies (SPEC 12: `check --deploy` is clean with an https:// base) -----
# Each defaults to on when PUBLIC_BASE_URL is https://, and can be set on its own.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PUBLIC_IS_HTTPS)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PUBLIC_IS_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PUBLIC_IS_HTTPS)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if PUBLIC_IS_HTTPS else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PUBLIC_IS_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PUBLIC_IS_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Behind a proxy that terminates TLS: the header it sets to "https" on secure requests
# (e.g. X-Forwarded-Proto). Only set it when the proxy always sets or strips it.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "procrastinate.contrib.django",
    "channels",
    "stitch",
    "flows",
    "entities",
    "webhooks",
    "media",
]

MIDDLEWARE = [
    # First: its request id, timing and metrics cover everything below (redirects too).
    "stitch.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # uvicorn serves no static files; WhiteNoise serves the admin's CSS/JS in-process.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into 429 (stitch.accounts).
    "axes.middleware.AxesMiddleware",
]

# --- Logins: throttled (SPEC 10) and API tokens that expire -------------------------
AUTHENTICATION_BACKENDS = [
    # Refuses any authenticate() of a locked-out client before checking the password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# Counted in PostgreSQL (the database handler), so every web process sees the same
# count. Per (client address, username): a guesser is stopped, and random names from
# one address (a fuzzer, a typo) do not lock the real user out. The address is
# REMOTE_ADDR: behind a proxy, run uvicorn with --proxy-headers --forwarded-allow-ips.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "stitch.accounts.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # failures only: no row per successful login
AXES_VERBOSE = False
# API tokens stop working this long after they were issued; 0 = never.
API_TOKEN_TTL_SECONDS = env_int("API_TOKEN_TTL_SECONDS", 30 * 24 * 3600, minimum=0)

ROOT_URLCONF = "stitch.urls"
ASGI_APPLICATION = "stitch.asgi.application"
AUTH_USER_MODEL = "stitch.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/api/flows/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
_database_url = env_str("DATABASE_URL") or embedded_database_url(VAR_DIR / "pgdata")
DATABASES = {"default": parse_database_url(_database_url)}
# Under ASGI every request may run on another thread, and persistent per-thread
# connections (CONN_MAX_AGE) pile up until PostgreSQL refuses clients. A psycopg pool
# per process bounds them instead (limits.md: past ~8 connections PostgreSQL on two
# cores gets slower, not faster). DATABASE_POOL_MAX_SIZE=0 turns the pool off.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=0)
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT_SECONDS", 30, minimum=1),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
# With the pool this makes it test a connection before lending it, so one killed by a
# server restart or idle timeout is replaced instead of failing the request that got it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channels, background jobs ---------------------------------------
REDIS_URL = env_str("REDIS_URL") or None
# Messages a channel (one per socket) buffers in the layer before it overflows; a
# burst of moves on a busy canvas must fit, so well above Channels' default of 100.
CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 5000, minimum=100)
# Bytes of frames one websocket may have waiting; a subscriber that falls further
# behind is closed with 4408 and reconnects to a fresh snapshot (entities.outbox).
REALTIME_SOCKET_BUFFER_BYTES = env_int(
    "REALTIME_SOCKET_BUFFER_BYTES", 4 * 1024 * 1024, minimum=1024
)
# A socket gets at most one frame per this many milliseconds: what arrives meanwhile
# is sent together as one batch frame (entities.hub); an idle socket is sent at once.
REALTIME_COALESCE_MS = env_int("REALTIME_COALESCE_MS", 25, minimum=0)
# Both layers are bounded per channel and report an overflow instead of dropping
# silently (entities.layers).
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "entities.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": CHANNEL_CAPACITY},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "entities.layers.BoundedInMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }
# Without Redis the web process also runs background jobs (one-process demo);
# with Redis, jobs run in separate `manage.py procrastinate worker` processes.
RUN_JOBS_IN_WEB = env_bool("RUN_JOBS_IN_WEB", REDIS_URL is None)

# --- Engine ---------------------------------------------------------------------
# The worker secret signs dispatches (X-Stitch-Signature) and callback tokens. It is
# not SECRET_KEY: a worker operator who verifies signatures holds it, and must not be
# able to forge sessions. Several (comma-separated) rotate: the first signs, all are
# accepted for callback tokens.
WORKER_SECRETS = env_secrets("WORKER_SECRETS")
if env_str("WORKER_SIGNING_SECRET") is not None:
    raise ImproperlyConfigured("WORKER_SIGNING_SECRET is now WORKER_SECRETS (first one signs)")
if not WORKER_SECRETS:
    if not DEBUG:
        raise ImproperlyConfigured("WORKER_SECRETS is required unless DEBUG=true")
    WORKER_SECRETS = ["insecure-dev-only-worker-secret-do-not-use-in-production"]
if SECRET_KEY in WORKER_SECRETS:
    raise ImproperlyConfigured("WORKER_SECRETS must not contain SECRET_KEY")
if not DEBUG and any(len(secret) < 32 for secret in WORKER_SECRETS):
    raise ImproperlyConfigured("each of WORKER_SECRETS must be at least 32 characters")
WORKER_DEFAULT_TIMEOUT_SECONDS = env_int("WORKER_DEFAULT_TIMEOUT_SECONDS", 30, minimum=1)
WORKER_DEFAULT_RETRIES = env_int("WORKER_DEFAULT_RETRIES", 3, minimum=0)
WORKER_CALLBACK_TIMEOUT_SECONDS = env_int("WORKER_CALLBACK_TIMEOUT_SECONDS", 3600, minimum=1)
WORKER_ALLOW_PRIVATE_ADDRESSES = env_bool("WORKER_ALLOW_PRIVATE_ADDRESSES", True)
# Backoff before retry n (0-based) of a failed dispatch: a random wait between half and
# all of min(cap, base * 2**n) seconds (flows.backoff). A Retry-After header sets the
# wait instead, up to its own cap.
WORKER_RETRY_BACKOFF_SECONDS = env_float("WORKER_RETRY_BACKOFF_SECONDS", 2.0, minimum=0)
WORKER_RETRY_BACKOFF_MAX_SECONDS = env_float("WORKER_RETRY_BACKOFF_MAX_SECONDS", 300.0, minimum=0)
WORKER_RETRY_AFTER_MAX_SECONDS = env_float("WORKER_RETRY_AFTER_MAX_SECONDS", 3600.0, minimum=0)
# Nodes one dispatch job sends at once (concurrently, on one pooled HTTP client) and
# whose synchronous replies it applies in one transaction; a 1,000-way split is
# 1,000 / this many jobs, spread over the workers' `concurrency` (bench/engine.py).
DISPATCH_BATCH_SIZE = env_int("DISPATCH_BATCH_SIZE", 50, minimum=1)
# Connections the dispatch client keeps per worker process (all kept alive: a fan-out
# to one worker host reuses them instead of reconnecting).
WORKER_HTTP_CONNECTIONS = env_int("WORKER_HTTP_CONNECTIONS", 100, minimum=1)
# procrastinate: async dispatch jobs overlap their HTTP waits; `concurrency` of them
# run at once per worker process. A worker silent for `stalled_worker_timeout` is
# pruned and its jobs retried (flows.tasks.retry_stalled_jobs). Finished jobs are
# deleted: kept rows slow down job claiming.
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env_int("WORKER_CONCURRENCY", 20, minimum=1),
    "delete_jobs": "successful",
    "stalled_worker_timeout": 30.0,
}
# Adds the worker middleware that gives each job's log lines its request id and ids.
PROCRASTINATE_ON_APP_READY = "stitch.logs.on_app_ready"

# --- Request bodies -------------------------------------------------------------
# Largest body of any route without a limit of its own (the webhook intake and media
# uploads have theirs), refused while it arrives by stitch.bodylimit. Graphs and worker
# callbacks are the largest ordinary bodies; 10 MiB leaves room for big fan-outs.
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- Webhooks -------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
# Accepted clock skew of signed webhooks, both ways. At least 1: a negative window
# refuses everything, and the Stripe SDK reads 0 as "do not check the timestamp".
WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = env_int("WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", 300, minimum=1)
# Events still pending/processing this long after receipt/claim are treated as left
# behind by a crash and processed again by the periodic sweep (processing takes ms).
WEBHOOK_RECOVERY_AFTER_SECONDS = env_int("WEBHOOK_RECOVERY_AFTER_SECONDS", 60, minimum=1)
# An event whose processing kept failing for a passing reason (deadlock, timeout, the
# database restarting) is marked failed after this many attempts; replay starts again.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
# Events one processing job takes from the queue and processes in one transaction
# (webhooks.batch); 1 processes each event on its own. bench/webhooks.py measures it.
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 50, minimum=1)
# The intake's fast route (webhooks.asgi_intake: group commit on an async pool of this
# many connections per web process); false leaves every delivery to the Django view.
WEBHOOK_FAST_ROUTE = env_bool("WEBHOOK_FAST_ROUTE", True)
WEBHOOK_INTAKE_CONNECTIONS = env_int("WEBHOOK_INTAKE_CONNECTIONS", 2, minimum=1)

# --- Media and storage ----------------------------------------------------------
MEDIA_MAX_UPLOAD_BYTES = env_int("MEDIA_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
# Decompression-bomb guard: a few KB of PNG can claim 100k x 100k pixels. 50 MP covers
# any real camera photo (Pillow alone would only refuse past about 179 MP).
MEDIA_MAX_IMAGE_PIXELS = env_int("MEDIA_MAX_IMAGE_PIXELS", 50_000_000, minimum=1)
MEDIA_THUMBNAIL_SIZE = env_int("MEDIA_THUMBNAIL_SIZE", 320, minimum=16)
# Thumbnail decodes at once per process: a 50 MP image is ~200 MB decoded.
MEDIA_THUMBNAIL_CONCURRENCY = env_int("MEDIA_THUMBNAIL_CONCURRENCY", 2, minimum=1)
# Stored files no row names are removed by the hourly sweep once this old.
MEDIA_ORPHAN_GRACE_SECONDS = env_int("MEDIA_ORPHAN_GRACE_SECONDS", 3600, minimum=0)
# Lifetime of presigned S3 URLs handed out in API responses and worker outputs.
MEDIA_S3_URL_EXPIRE_SECONDS = env_int("MEDIA_S3_URL_EXPIRE_SECONDS", 3600, minimum=60)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")) or VAR_DIR / "media")
MEDIA_URL = "/media-files/"
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET") or None
DATA_UPLOAD_MAX_MEMORY_SIZE = MEDIA_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
if MEDIA_S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env_str("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": env_str("MEDIA_S3_REGION") or None,
            "access_key": env_str("MEDIA_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("MEDIA_S3_SECRET_ACCESS_KEY") or None,
            "querystring_auth": True,
            "querystring_expire": MEDIA_S3_URL_EXPIRE_SECONDS,
            # Keys carry a fresh uuid, so the existence check (a HEAD per upload) is waste.
            "file_overwrite": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve straight from the apps' static dirs: no collectstatic step for the demo.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "stitch.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "stitch.api.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "stitch.api.exception_handler",
    # Typed query filters: a malformed value is a 400 naming the parameter.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON bodies go through stitch.jsondata: what PostgreSQL cannot store is a 400.
    "DEFAULT_PARSER_CLASSES": [
        "stitch.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stitch API",
    "DESCRIPTION": "Living business canvases: flows, runs, entities, webhooks, media.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets served from this app (drf-spectacular-sidecar), not a CDN:
    # the docs work offline and the browser talks to nobody else.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several serializers have a `status` of one of these choice sets (events in lists
    # and in detail, the bulk replay's filter; run lists, run detail and action answers):
    # one named enum each instead of a generated name.
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventStatusEnum": "webhooks.models.WebhookEventStatus",
        "RunStatusEnum": "flows.models.RunStatus",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Operations (SPEC 13) -----------------------------------------------------------
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
# A line per request (method, route, status, duration, request id); off: healthy
# requests are not news.
LOG_REQUESTS = env_bool("LOG_REQUESTS", False)
LOGGING = logging_config(
    json_lines=LOG_FORMAT == "json",
    level=(env_str("LOG_LEVEL", "INFO") or "INFO").upper(),
    log_requests=LOG_REQUESTS,
)

# prometheus-client's multiprocess directory, shared by the web and worker processes
# of one machine (stitch.metrics_dir empties it when the first of them starts).
METRICS_DIR = Path(env_str("METRICS_DIR") or VAR_DIR / "metrics")
# /metrics answers a request carrying `Authorization: Bearer <METRICS_TOKEN>` or coming
# from an allowed address; with neither configured it answers nobody.
METRICS_TOKEN = env_str("METRICS_TOKEN") or None


def _networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in env_list(name, []))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


METRICS_ALLOWED_NETWORKS = _networks("METRICS_ALLOWED_ADDRESSES")

# /readyz is 503 past these (0 turns a check off): no job worker heartbeat for this
# long (procrastinate beats every 10 s), more todo jobs due than this, or a due job
# waiting longer than this.
READYZ_WORKER_MAX_SILENCE_SECONDS = env_int("READYZ_WORKER_MAX_SILENCE_SECONDS", 60, minimum=0)
READYZ_MAX_DUE_JOBS = env_int("READYZ_MAX_DUE_JOBS", 10_000, minimum=0)
READYZ_MAX_JOB_WAIT_SECONDS = env_int("READYZ_MAX_JOB_WAIT_SECONDS", 300, minimum=0)

# An identical bulk replay / retry within this window does nothing new (stitch.recovery).
BULK_IDEMPOTENCY_SECONDS = env_int("BULK_IDEMPOTENCY_SECONDS", 86_400, minimum=1)

# The seed's index names (idx_stitch_entities_current_node_id, ...) are longer than
# the 30 characters Django allows for Oracle's sake; PostgreSQL takes 63.
SILENCED_SYSTEM_CHECKS = ["models.E034"]
