"""Django settings, every one from the environment with an embedded default that runs on a laptop.

Defaults: SQLite under var/, Celery on kombu's filesystem transport under var/broker (a real
worker process, no server needed), media under var/media. See the README's settings table.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from readerstudy.celery_config import celery_transport
from readerstudy.env import (
    env_bool,
    env_choice,
    env_database,
    env_email,
    env_int,
    env_list,
    env_path,
    env_rate,
    env_redis_url,
    env_secret_key,
)
from readerstudy.logging_config import logging_config
from readerstudy.pacs_config import pacs_endpoints
from readerstudy.signin_config import signin_settings
from readerstudy.storage_config import media_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", default=BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_secret_key(
    key_name="SECRET_KEY", file_name="SECRET_KEY_FILE", default_file=VAR_DIR / "secret_key"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "csp",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as our own static files: no CDN
    "django_otp",
    "django_otp.plugins.otp_totp",
    "readerstudy.accounts",
    "readerstudy.audit",
    "readerstudy.studies",
    "readerstudy.reading",
    "readerstudy.questionnaires",
    "inference.worker",
    "analysis.web",
    "frontend",
    "readerstudy.ops",
]

MIDDLEWARE = [
    "readerstudy.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "readerstudy.middleware.IdleTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "readerstudy.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "readerstudy.middleware.PermissionsPolicyMiddleware",
    # Last, as axes asks: it turns a refused login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# A strict Content-Security-Policy on every response: scripts and styles only from our own static
# files (no inline code, no CDN), images also as data: URLs (Swagger UI's icons), no plugins, no
# framing, forms only to ourselves.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "readerstudy.urls"
WSGI_APPLICATION = "readerstudy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "readerstudy.accounts.context_processors.signin",
            ],
        },
    },
]

DATABASES = {
    "default": env_database("DATABASE_URL", default_sqlite=VAR_DIR / "readerstudy.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "readerstudy.errors.csrf_failure"

# --- Mail: invitations (one-time links to set a password; Django's password-reset tokens)
_email = env_email("EMAIL_URL")
EMAIL_BACKEND: str = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH: str = _email.get("EMAIL_FILE_PATH", "")
EMAIL_HOST: str = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT: int = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER: str = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD: str = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS: bool = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL: bool = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT: int = _email.get("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("EMAIL_FROM", "readerstudy <readerstudy@localhost>")
PASSWORD_RESET_TIMEOUT = env_int("INVITATION_DAYS", default=7, minimum=1) * 86400

# --- Signing in: local passwords always; OpenID Connect, LDAP and a second factor as configured
# (readerstudy/signin_config.py, the README's "Signing in").
_signin = signin_settings()
AUTHENTICATION_BACKENDS: list[str] = _signin.pop("AUTHENTICATION_BACKENDS")
OIDC_ENABLED: bool = _signin.pop("OIDC_ENABLED")
OIDC_ROLES_CLAIM: str = _signin.pop("OIDC_ROLES_CLAIM")
OIDC_ROLE_MAP: dict[str, tuple[str, ...]] = _signin.pop("OIDC_ROLE_MAP")
OIDC_LOGIN_LABEL: str = _signin.pop("OIDC_LOGIN_LABEL", "")
LDAP_ENABLED: bool = _signin.pop("LDAP_ENABLED")
LDAP_ROLE_MAP: dict[str, tuple[str, ...]] = _signin.pop("LDAP_ROLE_MAP")
OTP_REQUIRED_FOR_COORDINATORS: bool = _signin.pop("OTP_REQUIRED_FOR_COORDINATORS")
# The rest are the libraries' own names (OIDC_OP_*, OIDC_RP_*, AUTH_LDAP_*), read by them alone.
globals().update(_signin)
OTP_TOTP_ISSUER = "readerstudy"
# Argon2 for every new or changed password; PBKDF2 stays second so older hashes still verify,
# and Django rehashes them with Argon2 at the user's next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Axes first: a locked-out username + address is refused before its password is even checked.
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
# Failed logins count per username and address together: an attacker can lock out a name only
# from their own address, and one busy address (a hospital's NAT) is not locked out as a whole.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Each attempt during a lockout starts the cool-off again, so "retry after" is exact from now.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "readerstudy.accounts.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "readerstudy.accounts.lockout.lockout_username"
# Reverse proxies in front of the web process (nginx: 1). Their X-Forwarded-For gives the client's
# address to login throttling, the audit log and the API's rate limits (client_address.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", default=0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "readerstudy.accounts.client_address.client_address"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True  # every time is stored in UTC

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    # The filesystem under MEDIA_ROOT, or an S3-compatible bucket (MEDIA_STORAGE=s3).
    "default": media_storage(),
    # whitenoise's hashed, compressed files: `collectstatic` writes them and their manifest (the
    # image at build time, the demo and `make serve` before serving); until it has run, plain
    # names served from the apps by whitenoise (frontend/storage.py), so no page breaks.
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "frontend.storage.ManifestStaticFilesStorage"
        )
    },
}
# Tests and `runserver` work without collectstatic; whitenoise then serves from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Sessions live in the database alone: reading never depends on Redis (design.md), and a cache in
# front of them (cached_db) made login fail with Redis down, and could bring back a session that
# was logged out while the cache was unreachable. One primary-key lookup per request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A reading day, not Django's two weeks: a forgotten login on a shared workstation expires.
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", default=12, minimum=1) * 3600
# Idle for longer than this, a user is logged out (their reads are kept; reading resumes).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", default=60, minimum=1)
# Production behind HTTPS (see docker/production.env): redirect plain HTTP, tell browsers to
# use HTTPS only, and trust the TLS-terminating proxy's X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # Token first: DRF answers an anonymous call with the first class's WWW-Authenticate, so it is
    # 401, not 403. Session authentication still enforces CSRF on unsafe methods.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Only views that name a throttle_scope are throttled (the expensive ones).
    "DEFAULT_THROTTLE_CLASSES": ["readerstudy.throttling.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "report": env_rate("THROTTLE_REPORT", default="60/min"),
        "export": env_rate("THROTTLE_EXPORT", default="30/min"),
        "import": env_rate("THROTTLE_IMPORT", default="10/hour"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "readerstudy.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "readerstudy.errors.api_exception_handler",
    # JSON only: Swagger UI at /api/docs/ is the API's page (DRF's browsable pages carry inline
    # styles that the Content-Security-Policy refuses).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# Statisticians' scripts: tokens hashed at rest, shown once, expiring.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_TTL_DAYS", default=30, minimum=1)),
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "readerstudy API",
    "DESCRIPTION": "Reader studies of AI assistance: studies, cases, rounds, reads and analysis.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`: each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "RoundStatusEnum": "readerstudy.reading.models.RoundStatus",
        "StudyStatusEnum": "readerstudy.studies.models.StudyStatus",
        "ImportStatusEnum": "readerstudy.studies.models.ImportStatus",
        "JobStatusEnum": "inference.worker.models.JobStatus",
        "DecisionEnum": "readerstudy.reading.models.Decision",
        "SequentialStepEnum": "readerstudy.reading.apis.SEQUENTIAL_STEPS",
    },
}

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL is not None
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}
# API throttles count here (the same store as the default); a throttle whose cache is down lets
# requests through (readerstudy.throttling), so Redis down never blocks the report or imports.
CACHES["throttle"] = dict(CACHES["default"])
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=3300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=3600, minimum=2)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT so tasks can clean up."
    )
_transport = celery_transport(
    redis_url=REDIS_URL, var_dir=VAR_DIR, task_time_limit=CELERY_TASK_TIME_LIMIT
)
CELERY_BROKER_URL: str = _transport["CELERY_BROKER_URL"]
CELERY_RESULT_BACKEND: str = _transport["CELERY_RESULT_BACKEND"]
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = _transport["CELERY_BROKER_TRANSPORT_OPTIONS"]
# A precompute batch whose run made no progress for this long is queued again by the sweep (its
# worker died); one image takes well under a second, a model's first load some seconds.
PRECOMPUTE_BATCH_STALE_SECONDS = env_int("PRECOMPUTE_BATCH_STALE_SECONDS", default=300, minimum=1)
PRECOMPUTE_SWEEP_SECONDS = env_int("PRECOMPUTE_SWEEP_SECONDS", default=60, minimum=1)
# Beat runs inside the default worker (`celery worker -B`), on either broker.
CELERY_BEAT_SCHEDULE = {
    "precompute-sweep": {
        "task": "inference.tasks.precompute_sweep",
        "schedule": float(PRECOMPUTE_SWEEP_SECONDS),
        "options": {"expires": float(PRECOMPUTE_SWEEP_SECONDS)},
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Plain lines, or one JSON object a line with LOG_FORMAT=json (readerstudy/logging_config.py).
LOGGING = logging_config()

# --- Imports: caps against hostile or mistaken uploads ------------------------------------------
# Precompute: compile the Grad-CAM pass with torch.compile (inference.predictor). "auto" compiles
# on CUDA only: on a CPU the compile (~15 s) pays back only over tens of thousands of images.
INFERENCE_COMPILE = env_choice("INFERENCE_COMPILE", choices=("auto", "on", "off"), default="auto")

IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", default=4 << 30, minimum=1)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", default=16 << 30, minimum=1)
IMPORT_MAX_FILES = env_int("IMPORT_MAX_FILES", default=20_000, minimum=1)
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", default=512 << 20, minimum=1)

# DICOMweb endpoints (readerstudy/pacs_config.py): credentials from the environment or a secrets file.
PACS_ENDPOINTS = pacs_endpoints()
