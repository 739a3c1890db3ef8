"""jappanel settings: one module, driven by the environment (and an optional `.env`).

A fresh checkout runs with no configuration at all: SQLite and a file-system Celery broker
under DATA_DIR, and the built-in sandbox panel as the provider. Production differs only by
environment variables; every one is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

import os
import warnings
from decimal import Decimal
from pathlib import Path

import environ
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VERSION = "0.1.0"

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _fail(message: str) -> None:
    # One readable line and a non-zero exit instead of a traceback: a missing setting is an
    # operator's mistake, not a bug.
    raise SystemExit(f"jappanel: configuration error: {message}")


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        _fail("SECRET_KEY is not set (required when DEBUG is off); see .env.example")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not DEBUG:
        _fail("ALLOWED_HOSTS is not set (required when DEBUG is off); see .env.example")
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "jappanel",
    "jappanel.providers",
    "jappanel.sandbox",
    "catalog",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "jappanel.urls"
WSGI_APPLICATION = "jappanel.wsgi.application"

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
    }
]

# Databases ---------------------------------------------------------------------------------

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown scheme is reported below, in one line
        DATABASES = {
            "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'jappanel.sqlite3'}"),
        }
except Exception:  # django-environ raises bare errors for some malformed URLs
    DATABASES = {"default": {}}
_engine = DATABASES["default"].get("ENGINE", "")
if not _engine:
    _fail("DATABASE_URL is not a database URL (postgres://... or sqlite:///...); see .env.example")
if _engine == "django.db.backends.sqlite3":
    # The web process and the worker write to one file: WAL lets readers go on during a
    # write, BEGIN IMMEDIATE takes the write lock up front (no deadlocked upgrades), and the
    # busy timeout makes a writer wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not memory) so that live-server and worker threads share it; one per process so
    # that two test runs side by side never delete each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)


DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth ---------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# I18N, static -------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Production serves hashed, compressed files collected by `collectstatic` (the Docker build and
# `make run` both run it); development serves straight from the finders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Celery -------------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    # kombu's file-system transport: a broker that needs no server, for the quick start.
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# A task that may have reached the provider must not run twice: acknowledge on receipt.
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Providers ----------------------------------------------------------------------------------

# Fernet keys, comma separated, the first one current; they encrypt provider API keys at rest.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    _fail("FIELD_ENCRYPTION_KEYS is not set (required when DEBUG is off); see .env.example")
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        _fail("FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)")
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=30.0)
# How often every provider's service list is synced into the local catalog.
CATALOG_SYNC_INTERVAL_MINUTES = env.int("CATALOG_SYNC_INTERVAL_MINUTES", default=60)
JAP_API_KEY = env.str("JAP_API_KEY", default="")
JAP_API_URL = env.str("JAP_API_URL", default="https://justanotherpanel.com/api/v2")

# Sandbox ------------------------------------------------------------------------------------

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
SANDBOX_API_KEY = env.str("SANDBOX_API_KEY", default="sandbox-key")
SANDBOX_START_BALANCE = Decimal(env.str("SANDBOX_START_BALANCE", default="1000.00"))
SANDBOX_TIME_SCALE = env.float("SANDBOX_TIME_SCALE", default=60.0)
SANDBOX_SEED = env.int("SANDBOX_SEED", default=2026)
# none | slow | html_503 | cloudflare | late_accept (accept the order, answer after the client gave up)
SANDBOX_FAULT_MODE = env.str("SANDBOX_FAULT_MODE", default="none")
SANDBOX_SLOW_SECONDS = env.float("SANDBOX_SLOW_SECONDS", default=3.0)

# Periodic work, declared in one place; each run expires before the next one is due.
CELERY_BEAT_SCHEDULE = {
    "sync-catalogs": {
        "task": "catalog.tasks.sync_catalogs",
        "schedule": CATALOG_SYNC_INTERVAL_MINUTES * 60,
        "options": {"expires": CATALOG_SYNC_INTERVAL_MINUTES * 60 * 0.9},
    },
    "refresh-balances": {
        "task": "jappanel.providers.tasks.refresh_balances",
        "schedule": 300,
        "options": {"expires": 270},
    },
}

# Logging ------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
