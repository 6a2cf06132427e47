"""Förderdesk settings, read from environment variables with safe development defaults.

Without DATABASE_URL the service uses SQLite in the project folder; without
CELERY_BROKER_URL Celery tasks run inline. Production differs only by environment.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-local-use"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")

# --- Production hardening (issue 9): HTTPS, cookies, security headers. -------------------------------------
# Off in development (plain http://127.0.0.1); on by default as soon as DJANGO_DEBUG=false, each one overridable.
# Behind a reverse proxy that terminates TLS, set DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
# (and make the proxy set that header, overwriting any from the client): Django then knows the request was https.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
_proxy_ssl_header = env.list("DJANGO_SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "DJANGO_SECURE_PROXY_SSL_HEADER must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True
# A year, once the site is known to work over https; start with e.g. 3600 when first switching a host to https.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# One cache for all web workers (allauth's login limits per address live there): CACHE_URL=redis://…/1 in production.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "django_fsm_log",
    "allauth",
    "allauth.account",
    # Production hardening (issue 9): Content-Security-Policy header, login throttling.
    "csp",
    "axes",
    "core",
    "applicants",
    "grants",
    "budgets",
    "reports",
    "payments",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Production hardening (issue 9): the CSP header on every response; axes turns a lockout into its page
    # (it must stay the last middleware, see the django-axes docs).
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once with "database is locked": a transaction
    # takes the write lock when it begins (IMMEDIATE), so two requests that read and then write (submit
    # draws the next file number) queue up instead of one failing on the lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "applicants.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # 12 characters for everyone, owners and staff alike: length and the list of common passwords, no composition rules.
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Accounts (django-allauth): owners register with e-mail and password and confirm the address
# through a link before they can log in; staff log in with their user name (accounts made by the
# municipality have no allauth address row and need no confirmation, see applicants.accounts).
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user name and address before any password is checked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "applicants.accounts.AccountAdapter"
ACCOUNT_FORMS = {"login": "applicants.accounts.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Förderdesk: "
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

# Owner uploads: PDF, JPEG and PNG only (checked by content), limits per file and per application.
PORTAL_UPLOAD_MAX_FILE_BYTES = env.int("PORTAL_UPLOAD_MAX_FILE_BYTES", default=10 * 1024 * 1024)
PORTAL_UPLOAD_MAX_APPLICATION_BYTES = env.int("PORTAL_UPLOAD_MAX_APPLICATION_BYTES", default=50 * 1024 * 1024)

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("Englisch"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# KERN UX comes from npm (`npm ci` in make install) and is served as it is, never copied into the repository.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("kern", BASE_DIR / "node_modules" / "@kern-ux" / "native" / "dist"),
    ("htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# --- Production hardening (issue 9): storages. -------------------------------------------------------------
# Static files: whitenoise serves them; in production from `collectstatic` with hashed, compressed names (cached
# for a year). Uploaded documents and letters: the file system (MEDIA_ROOT), or an S3-compatible object store
# with MEDIA_STORAGE=s3 (implied by AWS_STORAGE_BUCKET_NAME). Either way they are served only through the
# permission-checked views, never by URL, so the bucket stays private.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(STATIC_ROOT)))
MEDIA_STORAGE = env.str(
    "MEDIA_STORAGE", default="s3" if env.str("AWS_STORAGE_BUCKET_NAME", default="") else "filesystem"
)
if MEDIA_STORAGE == "s3":
    _media = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            # No ACL of our own: the bucket's policy keeps every object private.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
elif MEDIA_STORAGE == "filesystem":
    _media = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'filesystem' or 's3', not {MEDIA_STORAGE!r}.")
STORAGES = {
    "default": _media,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Inline, a failing letter or e-mail is logged, not shown to the person whose transition committed.
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "daily-digest": {"task": "grants.tasks.send_daily_digests", "schedule": crontab(hour=7, minute=0)},
    "deadline-reminders": {"task": "grants.tasks.send_reminders", "schedule": crontab(hour=6, minute=30)},
    # Once a year per case in its commitment period, and at its end (grants.notifications).
    "commitment-reminders": {"task": "grants.tasks.send_commitment_reminders", "schedule": crontab(hour=6, minute=45)},
    # Letters and e-mails whose task was lost (broker down at commit) or failed for good.
    "missed-notifications": {"task": "grants.tasks.notify_missed_transitions", "schedule": crontab(minute="*/15")},
}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="")
CELERY_TIMEZONE = TIME_ZONE
if not CELERY_BROKER_URL:
    # Inline tasks still take a producer from kombu's pool; its in-memory transport named with a host answers
    # that without the warning "No hostname was supplied" that a bare memory:// gives on every first task.
    CELERY_BROKER_URL = "memory://localhost/"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-emails"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="foerderdesk@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Every unreadable body is a 400 in the error format, also one nested too deep (core.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "core.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.FilterBackend",
        "core.api.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.Schema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Money stays a decimal string with two places, never a float.
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Förderdesk API",
    "DESCRIPTION": (
        "Programmes, allocations and ledger, applicants, properties and applications with their lifecycle. "
        "Log in by token (`Authorization: Token …`, from POST /api/auth/token/) or by session. "
        'Every error is JSON: `{"detail": "…", "reasons": ["…"]}` (validation errors add `fields`); '
        "400 bad input, 401 not logged in, 403 role, 404 not found or not visible, "
        "409 not possible in this state or not covered by the allocation."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Swagger UI from our own static files: a municipal server often has no way out to a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStateEnum": "grants.models.GrantApplication.State",
        "DocumentKindEnum": "grants.models.Document.Kind",
        "LedgerKindEnum": "budgets.models.LedgerEntry.Kind",
        "MeasureKindEnum": "grants.models.MeasureKind",
    },
}

# --- Production hardening (issue 9): Content-Security-Policy (django-csp 4). -------------------------------
# Everything from our own origin, nothing inline: no inline script, no event-handler attribute, no style
# attribute. Images may be data: URIs (Swagger UI's icons). Pages are never framed, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
if _csp_report_uri := env.str("CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]

# --- Production hardening (issue 9): login throttling (django-axes). --------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one login name from one address, that pair is refused for
# AXES_COOLOFF_MINUTES (each further attempt restarts the wait): 429 with a German page, JSON on the API.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "core.security.login_name"
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"
AXES_LOCKOUT_CALLABLE = "core.security.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Only failures are kept (AccessAttempt, visible in the admin); successful logins are not logged with address.
AXES_DISABLE_ACCESS_LOG = True
# allauth's own per-login limit (5 in 5 minutes) would answer before axes with a shorter lock and another
# message; its per-address limit stays, against trying one password on many names.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip"}
# Reverse proxies in front of the service that append to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Second factor (issue 9) -------------------------------------------------------------------------
# Staff and administrators confirm each login with a TOTP code (django-otp); owners are never asked.
# Kept in one block: the admin app becomes the admin behind the second factor, django-otp's middleware marks
# the verified session, ours sends an unverified staff session to the code page, and the API's session login
# asks for the same (a token is issued only with the code, see applicants.api.ObtainTokenView).
INSTALLED_APPS[INSTALLED_APPS.index("django.contrib.admin")] = "config.apps.AdminConfig"
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp"]
_after_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE[_after_auth:_after_auth] = [
    "django_otp.middleware.OTPMiddleware",
    "config.middleware.SecondFactorMiddleware",
]
_session_auth = REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
_session_auth[_session_auth.index("rest_framework.authentication.SessionAuthentication")] = (
    "config.api_auth.SessionAuthentication"
)
OTP_TOTP_ISSUER = "Förderdesk"
# Nobody reads a staff member's TOTP secret or QR code back from the admin; a lost phone means a new device.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# --- end of second factor ----------------------------------------------------------------------------

# --- Data protection (DSGVO) and audit history (issue 9) ---------------------------------------------
# django-simple-history keeps every change of applications, programmes, allocations, user roles and
# municipal staff with who (from the request) and when; see grants.audit for the auditors' page.
INSTALLED_APPS += ["simple_history"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "simple_history.middleware.HistoryRequestMiddleware",
)
SIMPLE_HISTORY_REVERT_DISABLED = True
# Drafts never submitted are deleted this many days after their last change (grants.privacy).
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=365)
if DRAFT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("DRAFT_RETENTION_DAYS must be at least 1.")
CELERY_BEAT_SCHEDULE["data-retention"] = {
    "task": "grants.tasks.apply_data_retention",
    "schedule": crontab(hour=2, minute=30),
}
