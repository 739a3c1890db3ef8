"""jappanel settings: one module, driven by the environment (and an optional `.env`).

A fresh checkout runs with no configuration at all: SQLite and a file-system Celery broker
under DATA_DIR, and the built-in sandbox panel as the provider. Production differs only by
environment variables; every one is listed, with a comment, in `.env.example`.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
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


def _secret(name: str) -> str:
    """`NAME` from the environment, or the contents of the file named by `NAME_FILE`.

    The file form is for Docker secrets: the value never appears in `docker inspect`.
    """
    path = env.str(f"{name}_FILE", default="")
    if not path:
        return env.str(name, default="")
    if env.str(name, default=""):
        _fail(f"{name} and {name}_FILE are both set; keep one")
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        _fail(f"{name}_FILE: cannot read {path} ({exc.strerror})")
        raise


SECRET_KEY = _secret("SECRET_KEY")
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

# Security -----------------------------------------------------------------------------------

# Production runs behind a reverse proxy that terminates HTTPS and says so in X-Forwarded-Proto;
# trusting that header without such a proxy would let any client claim HTTPS.
BEHIND_HTTPS_PROXY = env.bool("BEHIND_HTTPS_PROXY", default=not DEBUG)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app each append a hop to X-Forwarded-For: the client's address
# (audit log, login lockout) is the hop the outermost one added; the client writes the hops left
# of it, so they are never believed. 0: nobody in front, the connection's own address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    _fail("TRUSTED_PROXY_COUNT must be 0 or more")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and scrapers inside the Docker network speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a decision for whoever owns the parent domain, not for one app on a subdomain.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# htmx sends the token from the page (`hx-headers`), so no script ever needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content Security Policy, in every mode so that development meets the same rules. Scripts and
# styles come only from our own static files (htmx is vendored; its inline indicator style is
# switched off in base.html), and nothing may frame the site or post elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

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
    "providers",
    "providers.sandbox",
    "catalog",
    "orders",
    "audit",
    "team",
    "presets",
    "reports",
    "api",
    "notifications",
    "axes",
]

MIDDLEWARE = [
    "jappanel.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditRequesterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
            "default": env.db_url_config(
                _secret("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'jappanel.sqlite3'}"
            ),
        }
except Exception:  # django-environ raises bare errors for some malformed URLs
    DATABASES = {"default": {}}
_engine = DATABASES["default"].get("ENGINE", "")
if not _engine:
    _fail("DATABASE_URL is not a database URL (postgres://... or sqlite:///...); see .env.example")
# The password apart from the URL, so that it alone can be a Docker secret shared with postgres.
if _database_password := _secret("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = _database_password
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
    # One test database per process here too (pytest-xdist adds its _gwN suffix to it): a
    # developer's run and CI's on one server never create or drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default'].get('NAME', '')}_{os.getpid()}"}
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
# django-axes first: it refuses a locked-out username and address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins before a lockout, and the lockout's length. Both count: a username's failures
# from any addresses (one guesser spread over many) and an address's failures for any usernames
# (one address trying many).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "audit.services.client_ip"
# A session ends after this many minutes without a request.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=120)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Email: the server that sends mail, e.g. smtp+tls://user:password@smtp.example.com:587. Without
# one there is no "forgot your password" page: it would promise a link that never comes.
EMAIL_URL = _secret("EMAIL_URL")
EMAIL_ENABLED = bool(EMAIL_URL)
if EMAIL_ENABLED:
    try:
        globals().update(env.email_url_config(EMAIL_URL))
    except Exception:  # django-environ raises bare errors for unknown schemes
        _fail("EMAIL_URL is not a mail server URL (smtp://, smtp+tls://, smtp+ssl://); see .env.example")
else:
    # Development: mails (notifications) are printed, not sent.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The sender of password reset mails and notifications.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="jappanel@localhost")

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
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (remote control) messages; kombu's default is ./control, in the checkout.
        "control_folder": str(_broker_dir / "control"),
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
# Two queues, so that what a person waits for never waits behind periodic work: sending an
# order (placed, approved or requeued) and "Check now" go to `interactive`; polling rounds,
# catalog syncs and balances to the default queue. A worker of its own consumes `interactive`
# only (Procfile, docker-compose.yml); the main worker consumes both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "orders.tasks.submit_orders": {"queue": "interactive"},
    "orders.tasks.check_orders_now": {"queue": "interactive"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Logging is configured by Django (LOGGING below) in every process, the worker included, so
# that its lines carry the same format and context; jappanel.logging connects Celery's
# `setup_logging` signal, which keeps Celery from installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Providers ----------------------------------------------------------------------------------

# Fernet keys, comma separated, the first one current; they encrypt provider API keys and the
# notification endpoints' secrets and URLs at rest.
FIELD_ENCRYPTION_KEYS = [key.strip() for key in _secret("FIELD_ENCRYPTION_KEYS").split(",") if key.strip()]
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    _fail("FIELD_ENCRYPTION_KEYS is not set (required when DEBUG is off); see .env.example")
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        _fail("FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)")
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=30.0)
# Seconds one call to a panel may take in all: the read timeout bounds each wait for a chunk, and
# a panel trickling a byte at a time would otherwise hold a call (and a worker) for ever.
PROVIDER_CALL_DEADLINE = env.float("PROVIDER_CALL_DEADLINE", default=60.0)
# The largest answer read from a panel, in MB: a services list can be tens of MB, every other
# answer (status of 100 orders, balance, ...) a few kB. A larger answer is not read.
PROVIDER_MAX_SERVICES_MB = env.float("PROVIDER_MAX_SERVICES_MB", default=64.0)
PROVIDER_MAX_ANSWER_MB = env.float("PROVIDER_MAX_ANSWER_MB", default=2.0)
# Calls in flight to one provider at once, counted across every worker process and thread
# (providers.pace); polling rounds and mass orders fan out up to this many. And, when set, the
# most calls a minute to one provider (panels publish 60-120); empty: only the panel's 429s slow us.
PROVIDER_MAX_CONCURRENCY = max(env.int("PROVIDER_MAX_CONCURRENCY", default=4), 1)
PROVIDER_MAX_REQUESTS_PER_MINUTE = int(env.str("PROVIDER_MAX_REQUESTS_PER_MINUTE", default="") or 0) or None
# Provider URLs reaching inside the network (loopback, private ranges, link-local such as the
# cloud metadata address 169.254.169.254) are refused, checked on the address actually connected
# to; 1 allows them (a panel on the local network, the tests' local servers). `sandbox://` is
# served in process and never concerned.
ALLOW_PRIVATE_PROVIDER_URLS = env.bool("ALLOW_PRIVATE_PROVIDER_URLS", default=False)
# How often every provider's service list is synced into the local catalog.
CATALOG_SYNC_INTERVAL_MINUTES = env.int("CATALOG_SYNC_INTERVAL_MINUTES", default=60)
# A shortlisted service whose rate rose by more than this many percent in a week is flagged on
# the dashboard.
try:
    PRICE_JUMP_ALERT_PERCENT = Decimal(env.str("PRICE_JUMP_ALERT_PERCENT", default="20"))
except ArithmeticError:
    PRICE_JUMP_ALERT_PERCENT = Decimal("NaN")
if not PRICE_JUMP_ALERT_PERCENT.is_finite() or PRICE_JUMP_ALERT_PERCENT < 0:
    _fail("PRICE_JUMP_ALERT_PERCENT must be a percentage, 0 or more (e.g. 20)")
JAP_API_KEY = _secret("JAP_API_KEY")
JAP_API_URL = env.str("JAP_API_URL", default="https://justanotherpanel.com/api/v2")

# Orders -------------------------------------------------------------------------------------

# Sends of an order that provably never reached the panel, before it is rejected.
ORDERS_SUBMIT_ATTEMPTS = env.int("ORDERS_SUBMIT_ATTEMPTS", default=4)
# First wait before sending again, seconds; it doubles on each attempt (with jitter).
ORDERS_SUBMIT_BACKOFF_SECONDS = env.float("ORDERS_SUBMIT_BACKOFF_SECONDS", default=10.0)
# Minutes in `submitting` after which the order is presumed lost with its worker (→ unconfirmed).
ORDERS_STUCK_MINUTES = env.int("ORDERS_STUCK_MINUTES", default=5)
# Longest wait between two status checks of an old order, minutes.
ORDERS_POLL_MAX_INTERVAL_MINUTES = env.int("ORDERS_POLL_MAX_INTERVAL_MINUTES", default=60)
# Most orders claimed by one polling round (checked 100 per status call).
ORDERS_POLL_MAX_PER_ROUND = env.int("ORDERS_POLL_MAX_PER_ROUND", default=50_000)

# Minutes between two refreshes of the service and provider scorecards (reliability).
SCORECARDS_REFRESH_MINUTES = env.int("SCORECARDS_REFRESH_MINUTES", default=15)

# An order costing more (in its own currency) waits for an approver, and so do the orders of one
# mass order or preset that cost more together; empty: no team-wide threshold. A campaign's own
# threshold applies as well: the stricter of the two decides.
_threshold = env.str("APPROVAL_THRESHOLD", default="")
APPROVAL_THRESHOLD = Decimal(_threshold) if _threshold else None

# Sandbox ------------------------------------------------------------------------------------

# The simulator serves a public order endpoint and a look-alike provider beside the real ones,
# so it is on by default only in development.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)

# The team API (/api/v2): requests a minute per key, and the largest request body, in bytes.
API_RATE_LIMIT_PER_MINUTE = max(1, env.int("API_RATE_LIMIT_PER_MINUTE", default=120))
API_MAX_REQUEST_BYTES = max(1024, env.int("API_MAX_REQUEST_BYTES", default=65536))
# Its API key. Empty: a random key made once per install and kept in the database (the sandbox's
# own account), so web, worker and beat read the same one and it survives restarts. Development
# uses the published key below; with DEBUG off that key would open the endpoint to anyone.
SANDBOX_DEVELOPMENT_KEY = "sandbox-key"
SANDBOX_API_KEY = env.str("SANDBOX_API_KEY", default=SANDBOX_DEVELOPMENT_KEY if DEBUG else "")
if SANDBOX_API_KEY == SANDBOX_DEVELOPMENT_KEY and not DEBUG:
    _fail(
        f"SANDBOX_API_KEY={SANDBOX_DEVELOPMENT_KEY} is the published development key; with DEBUG off "
        "leave it empty (a random key is made for this install) or choose your own"
    )
SANDBOX_START_BALANCE = Decimal(env.str("SANDBOX_START_BALANCE", default="1000.00"))
SANDBOX_TIME_SCALE = env.float("SANDBOX_TIME_SCALE", default=60.0)
SANDBOX_SEED = env.int("SANDBOX_SEED", default=2026)
# none | slow | html_503 | cloudflare | late_accept (accept the order, answer after the client gave up)
SANDBOX_FAULT_MODE = env.str("SANDBOX_FAULT_MODE", default="none")
SANDBOX_SLOW_SECONDS = env.float("SANDBOX_SLOW_SECONDS", default=3.0)
# Benchmarks and tests: the sandbox answers each call this many milliseconds after it arrived,
# as a real panel does (0.3-1 s); and it refuses (HTTP 429) calls beyond this many a minute per
# account, counted by its own clock in each process (0: no limit).
SANDBOX_LATENCY_MS = max(env.int("SANDBOX_LATENCY_MS", default=0), 0)
SANDBOX_RATE_LIMIT_PER_MINUTE = max(env.int("SANDBOX_RATE_LIMIT_PER_MINUTE", default=0), 0)

# Notifications --------------------------------------------------------------------------------

# This site's address as people reach it: the links in mails, chat messages and webhooks.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# A provider's balance is low when it lasts this many days or fewer at the last 7 days' pace (or is
# below the threshold a manager set for it).
NOTIFY_BALANCE_DAYS = env.int("NOTIFY_BALANCE_DAYS", default=3)
# Failed catalog syncs in a row before the managers are told.
NOTIFY_SYNC_FAILURES = env.int("NOTIFY_SYNC_FAILURES", default=3)
# Most catalog changes told after one sync (the rest are on the Catalog changes page).
NOTIFY_CHANGES_PER_SYNC = 50
# Seconds the bell waits between two looks at the unread count.
NOTIFY_BELL_SECONDS = env.int("NOTIFY_BELL_SECONDS", default=30)
# Webhooks and chat: seconds one delivery may take; first wait before a retry (it doubles);
# seconds after which a delivery is given up (a day); failed attempts in a row that disable one.
NOTIFY_WEBHOOK_TIMEOUT = 10.0
NOTIFY_WEBHOOK_BACKOFF_SECONDS = env.float("NOTIFY_WEBHOOK_BACKOFF_SECONDS", default=60.0)
NOTIFY_WEBHOOK_GIVE_UP_SECONDS = 86_400
NOTIFY_WEBHOOK_DISABLE_AFTER = env.int("NOTIFY_WEBHOOK_DISABLE_AFTER", default=20)

# Health ---------------------------------------------------------------------------------------

# The worker and beat each record a heartbeat every HEARTBEAT_INTERVAL seconds; /readyz and the
# dashboard call one older than HEARTBEAT_MAX_AGE "not running".
HEARTBEAT_INTERVAL = 60
HEARTBEAT_MAX_AGE = env.int("HEARTBEAT_MAX_AGE", default=180)

# Periodic work, declared in one place; each run expires before the next one is due.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "jappanel.tasks.heartbeat",
        "schedule": HEARTBEAT_INTERVAL,
        "options": {"expires": HEARTBEAT_INTERVAL * 0.9},
    },
    "sync-catalogs": {
        "task": "catalog.tasks.sync_catalogs",
        "schedule": CATALOG_SYNC_INTERVAL_MINUTES * 60,
        "options": {"expires": CATALOG_SYNC_INTERVAL_MINUTES * 60 * 0.9},
    },
    "refresh-balances": {
        "task": "providers.tasks.refresh_balances",
        "schedule": 300,
        "options": {"expires": 270},
    },
    "poll-orders": {"task": "orders.tasks.poll_orders", "schedule": 60, "options": {"expires": 55}},
    "poll-refills": {"task": "orders.tasks.poll_refills", "schedule": 300, "options": {"expires": 270}},
    "auto-refill": {"task": "orders.tasks.auto_refill", "schedule": 3600, "options": {"expires": 3540}},
    "sweep-orders": {"task": "orders.tasks.sweep_orders", "schedule": 60, "options": {"expires": 55}},
    "notify-resume-deliveries": {
        "task": "notifications.tasks.resume_deliveries",
        "schedule": 300,
        "options": {"expires": 270},
    },
    "notify-digests": {
        "task": "notifications.tasks.send_digests",
        "schedule": 86_400,
        "options": {"expires": 3600},
    },
    "notify-health": {
        "task": "notifications.tasks.check_health",
        "schedule": 300,
        "options": {"expires": 270},
    },
    "refresh-scorecards": {
        "task": "orders.tasks.refresh_scorecards",
        "schedule": SCORECARDS_REFRESH_MINUTES * 60,
        "options": {"expires": SCORECARDS_REFRESH_MINUTES * 60 * 0.9},
    },
}

# Logging ------------------------------------------------------------------------------------

# Everything goes to stderr, where Docker and honcho collect it (stdout stays free for what
# commands print, JSON that pipes into jq): readable lines in development,
# one JSON object per line (LOG_FORMAT=json) for a log shipper. Each line carries the request
# id, task id, order code and provider order id when they apply (jappanel.logging).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    _fail(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "jappanel.logging.ContextFilter"}},
    "formatters": {
        "plain": {"()": "jappanel.logging.PlainFormatter"},
        "json": {"()": "jappanel.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every login and reset at INFO; lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# Error tracking and metrics (both optional) ----------------------------------------------------

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from jappanel.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production"))

# Prometheus metrics at /metrics for a scraper that sends "Authorization: Bearer METRICS_TOKEN";
# without a token the path does not exist.
METRICS_TOKEN = _secret("METRICS_TOKEN")
if METRICS_TOKEN:
    # Web, worker and beat are separate processes (separate containers in compose, sharing
    # DATA_DIR): each writes its counters here and /metrics adds them up. It must be set before
    # prometheus_client is first imported.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
