"""Settings for Stitch, all read from the environment (see README: Configuration)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from stitch.database import embedded_database_url, parse_database_url
from stitch.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STITCH_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
_secret = env_str("SECRET_KEY")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=true")
    _secret = "insecure-dev-only-secret-key-do-not-use-in-production"
SECRET_KEY: str = _secret
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Public base URL used to build absolute callback and webhook URLs handed to the
# outside world (workers, providers). Requests are not trusted for this.
# Defaults to the local server on PORT (what `make run` serves), so callbacks reach it.
PORT = env_int("PORT", 8000, minimum=1)
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")

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
    "django.middleware.security.SecurityMiddleware",
    # uvicorn serves no static files; WhiteNoise serves the admin's CSS/JS in-process.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
# Both channels layers drop messages past `capacity` per channel; a burst of moves
# on a busy canvas must not vanish, so size it well above the default of 100.
CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 5000, minimum=100)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": CHANNEL_CAPACITY},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }
# Without Redis the web process also runs background jobs (one-process demo);
# with Redis, jobs run in separate `manage.py procrastinate worker` processes.
RUN_JOBS_IN_WEB = env_bool("RUN_JOBS_IN_WEB", REDIS_URL is None)

# --- Engine ---------------------------------------------------------------------
WORKER_SIGNING_SECRET = env_str("WORKER_SIGNING_SECRET") or SECRET_KEY
WORKER_DEFAULT_TIMEOUT_SECONDS = env_int("WORKER_DEFAULT_TIMEOUT_SECONDS", 30, minimum=1)
WORKER_DEFAULT_RETRIES = env_int("WORKER_DEFAULT_RETRIES", 3, minimum=0)
WORKER_CALLBACK_TIMEOUT_SECONDS = env_int("WORKER_CALLBACK_TIMEOUT_SECONDS", 3600, minimum=1)
WORKER_ALLOW_PRIVATE_ADDRESSES = env_bool("WORKER_ALLOW_PRIVATE_ADDRESSES", True)
# Backoff before retry n (0-based) of a failed dispatch: base * 2**n seconds.
WORKER_RETRY_BACKOFF_SECONDS = env_float("WORKER_RETRY_BACKOFF_SECONDS", 2.0, minimum=0)
# procrastinate: async dispatch jobs overlap their HTTP waits; `concurrency` of them
# run at once per worker process. A worker silent for `stalled_worker_timeout` is
# pruned and its jobs retried (flows.tasks.retry_stalled_jobs). Finished jobs are
# deleted: kept rows slow down job claiming.
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": env_int("WORKER_CONCURRENCY", 20, minimum=1),
    "delete_jobs": "successful",
    "stalled_worker_timeout": 30.0,
}

# --- Webhooks -------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1)
WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = env_int("WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", 300)
# Events still pending/processing this long after receipt/claim are treated as left
# behind by a crash and processed again by the periodic sweep (processing takes ms).
WEBHOOK_RECOVERY_AFTER_SECONDS = env_int("WEBHOOK_RECOVERY_AFTER_SECONDS", 60, minimum=1)

# --- Media and storage ----------------------------------------------------------
MEDIA_MAX_UPLOAD_BYTES = env_int("MEDIA_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1)
# Decompression-bomb guard: a few KB of PNG can claim 100k x 100k pixels. 50 MP covers
# any real camera photo (Pillow alone would only refuse past about 179 MP).
MEDIA_MAX_IMAGE_PIXELS = env_int("MEDIA_MAX_IMAGE_PIXELS", 50_000_000, minimum=1)
MEDIA_THUMBNAIL_SIZE = env_int("MEDIA_THUMBNAIL_SIZE", 320, minimum=16)
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
        "rest_framework.authentication.TokenAuthentication",
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
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    # httpx logs every request at INFO: a line per worker dispatch is noise.
    "loggers": {
        "procrastinate": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}

# The seed's index names (idx_stitch_entities_current_node_id, ...) are longer than
# the 30 characters Django allows for Oracle's sake; PostgreSQL takes 63.
SILENCED_SYSTEM_CHECKS = ["models.E034"]
