"""Countersign settings. Every value that differs between deployments comes from the
environment; the README lists each variable."""

import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Where development state lives: the embedded servers, the development secret key, the witness.
RUN_DIR = Path(os.environ.get("HITL_RUN_DIR", BASE_DIR / ".run"))


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name):
    """A server's address. Reading settings starts nothing: `make run`, `make test` and
    `manage.py` set these to the embedded servers (hitl_site/embedded.py) when they are unset."""
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. `make run`, `make test` and `manage.py` set it to an embedded server; "
            "run other commands as `python -m hitl_site.embedded run -- COMMAND…`, or set it."
        )
    return value


DEBUG = env_bool("DEBUG", False)
# HITL_PRODUCTION alone decides: DEBUG=true must not switch off the key checks below, and is
# itself refused in production (after them, so a bad key is named first).
PRODUCTION = env_bool("HITL_PRODUCTION")
# Keys anyone can read (this file's old fallback, Django's startproject default) sign nothing in
# production: the audit log's signing key and the receipts' key derive from SECRET_KEY.
PUBLIC_KEY_VALUES = {"dev-only-insecure-key-set-SECRET_KEY-in-production", "changeme", "secret"}


def development_key_problem(name, value):
    """Why `value` may not be the production `name`, or None."""
    if not value:
        return f"{name} must be set in production"
    if value in PUBLIC_KEY_VALUES or value.startswith("django-insecure-") or len(value) < 32:
        return f"{name} is a development or guessable value: set at least 32 random characters in production"
    return None


def development_secret_key():
    """Outside production an unset SECRET_KEY is a random one kept under .run/, so that no two
    installs share a key that the audit log's signing key would derive from."""
    path = RUN_DIR / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as created:
            created.write(secrets.token_urlsafe(50))
    except FileExistsError:
        pass  # another process of this install made it first: use theirs
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if PRODUCTION:
    # The signing keys default to ones derived from SECRET_KEY; set, each is held to the same bar.
    for key_name in ("SECRET_KEY", "AUDIT_SIGNING_KEY", "HITL_RECEIPT_KEY", "HITL_WEBHOOK_SECRET"):
        if key_name == "SECRET_KEY" or os.environ.get(key_name):
            if problem := development_key_problem(key_name, os.environ.get(key_name, "")):
                raise RuntimeError(problem)
    if DEBUG:
        raise RuntimeError(
            "DEBUG=true is refused when HITL_PRODUCTION=true: debug pages show settings and tracebacks "
            "to anyone who can cause an error. Unset DEBUG, or unset HITL_PRODUCTION on a development machine."
        )
elif not SECRET_KEY:
    SECRET_KEY = development_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public address of the dashboard, used for `review_url` in API answers and in messages.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in indexes (the audit log's case-insensitive agent prefix)
    "django_htmx",
    "template_partials",
    "guardian",
    "csp",
    "axes",
    "audit",
    "policies",
    "approvals",
    "sampling",
    "insights",
    "gateway",
    "identity",
    "push",
    "teams",
    "hitl_site",  # last: its migration gives the roles the other apps' permissions
]

# hitl_site.middleware: Django's own, run on the event loop under ASGI (no thread hand-off). Security,
# CSRF and X-Frame-Options stay as named, for `check --deploy`, which looks for them by name.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one: the API's unanswered errors (404, 405, 500) in its JSON shape.
    "hitl_site.api.json_errors",
    "hitl_site.static_files.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hitl_site.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "hitl_site.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hitl_site.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # After the user is known: names the person's verified identity, and ends an OIDC session the
    # provider no longer vouches for before it can decide (identity/middleware.py).
    "identity.middleware.VerifiedIdentityMiddleware",
]

ROOT_URLCONF = "hitl_site.urls"
WSGI_APPLICATION = "hitl_site.wsgi.application"

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

# Served as ASGI, every request runs its sync part in a thread of its own, so a connection kept
# per thread (CONN_MAX_AGE) would be opened per request: connections come from a pool instead.
# Health checks: a pooled connection broken by a PostgreSQL restart is replaced, not handed out.
DATABASES = {"default": dj_database_url.parse(env_required("DATABASE_URL"), conn_max_age=0, conn_health_checks=True)}
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": 5,
    "pool": {
        "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "20")),
        "timeout": int(os.environ.get("DB_POOL_TIMEOUT", "10")),
    },
}
# Connections left for everything but this host's web processes (Celery's worker processes, two
# each, beat, the web processes of other hosts, migrations, psql): gunicorn refuses to start when
# this host's processes × (DB_POOL_MAX_SIZE + 1 LISTEN) + this exceed max_connections
# (hitl_site/connection_budget.py).
HITL_DB_OTHER_CONNECTIONS = int(os.environ.get("HITL_DB_OTHER_CONNECTIONS", "20"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required("REDIS_URL")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out login before any other
    # Django's ModelBackend, but with HITL_LOCAL_PASSWORDS=break-glass only the named account may use a password.
    "identity.backends.PasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token travels in hx-headers.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("HITL_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Behind a proxy, the server (uvicorn, under gunicorn too) takes the client's address and scheme from
# X-Forwarded-For and X-Forwarded-Proto sent by the addresses in FORWARDED_ALLOW_IPS only (localhost
# by default; the proxy's address in docker-compose.yml). Django itself believes no such header from
# anyone: no SECURE_PROXY_SSL_HEADER, no USE_X_FORWARDED_HOST (README, "Replicas behind a proxy").

# A strict policy: no inline script or style, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        # The installable inbox (push/): its web app manifest and its service worker, from here only.
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / ".run" / "static"))

GUARDIAN_RAISE_403 = True

# Sign-in through the organisation's OpenID provider (identity/oidc.py, README "Sign in with your
# identity provider"). Set the issuer, client id and secret to turn it on; the endpoints come from
# the issuer's discovery document.
HITL_OIDC_ISSUER = os.environ.get("HITL_OIDC_ISSUER", "").rstrip("/")
HITL_OIDC_CLIENT_ID = os.environ.get("HITL_OIDC_CLIENT_ID", "")
HITL_OIDC_CLIENT_SECRET = os.environ.get("HITL_OIDC_CLIENT_SECRET", "")
HITL_OIDC_PROVIDER_NAME = os.environ.get("HITL_OIDC_PROVIDER_NAME", "your identity provider")
HITL_OIDC_SCOPES = os.environ.get("HITL_OIDC_SCOPES", "openid email profile")
# The claim (ID token, else userinfo) listing the person's groups, and how its values map to roles:
# "idp-group=role,…" with the roles of hitl_site/roles.py. Roles in the map are given and taken
# away at each sign-in; roles outside it are left to the admin.
HITL_OIDC_ROLES_CLAIM = os.environ.get("HITL_OIDC_ROLES_CLAIM", "groups")
HITL_OIDC_ROLE_MAP = dict(
    entry.split("=", 1) for entry in env_list("HITL_OIDC_ROLE_MAP") if "=" in entry
)
# The roles a map may name: hitl_site.roles' groups, written out (settings import no app module).
KNOWN_ROLES = ("supervisors", "policy_admins", "auditors", "sample_reviewers")
if unknown_roles := set(HITL_OIDC_ROLE_MAP.values()) - set(KNOWN_ROLES):
    raise ImproperlyConfigured(
        f"HITL_OIDC_ROLE_MAP names {', '.join(sorted(unknown_roles))}, not a role: one of {', '.join(KNOWN_ROLES)}."
    )
# Deprovisioning: an OIDC session is checked against the provider (its userinfo endpoint, with the
# session's access token, refreshed when it has expired) before a POST once this many seconds have
# passed since the last check. A person removed or disabled at the provider decides nothing after
# that bound; when the provider cannot be asked, the POST is refused (fail closed).
HITL_OIDC_RECHECK_SECONDS = int(os.environ.get("HITL_OIDC_RECHECK_SECONDS", "300"))
# "on": every account may use a password. "break-glass": only HITL_BREAK_GLASS_USER may; everyone
# else signs in through the identity provider.
HITL_LOCAL_PASSWORDS = os.environ.get("HITL_LOCAL_PASSWORDS", "on")
HITL_BREAK_GLASS_USER = os.environ.get("HITL_BREAK_GLASS_USER", "")
if HITL_LOCAL_PASSWORDS not in ("on", "break-glass"):
    raise ImproperlyConfigured("HITL_LOCAL_PASSWORDS is 'on' or 'break-glass'.")
if HITL_LOCAL_PASSWORDS == "break-glass" and not HITL_BREAK_GLASS_USER:
    raise ImproperlyConfigured("HITL_LOCAL_PASSWORDS=break-glass needs HITL_BREAK_GLASS_USER, the one account kept.")

# OAuth for agents and MCP clients (identity/access_tokens.py): /mcp/ and /api/v1/ also accept JWT
# access tokens from these authorization servers (issuer URLs, comma-separated), whose audience is
# this resource (RFC 8707), carrying this scope; the claim names the agent (by its name).
HITL_OAUTH_ISSUERS = [issuer.rstrip("/") for issuer in env_list("HITL_OAUTH_ISSUERS")]
HITL_OAUTH_RESOURCE = os.environ.get("HITL_OAUTH_RESOURCE", SITE_URL + "/")
HITL_OAUTH_SCOPE = os.environ.get("HITL_OAUTH_SCOPE", "countersign:agent")
HITL_OAUTH_AGENT_CLAIM = os.environ.get("HITL_OAUTH_AGENT_CLAIM", "client_id")
# Clock skew tolerated on exp and nbf.
HITL_OAUTH_LEEWAY_SECONDS = int(os.environ.get("HITL_OAUTH_LEEWAY_SECONDS", "30"))

# Lock a user name at one address out after repeated failed logins (django-axes).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Agent API limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("HITL_MAX_BODY_BYTES", str(256 * 1024)))
# What happens to a proposal for an action type nobody has defined: "register" creates a draft
# type at `confirm`; "refuse" answers 422 unknown_action.
HITL_UNKNOWN_ACTIONS = os.environ.get("HITL_UNKNOWN_ACTIONS", "register")
# Who reviews a type registered on first use, until an admin chooses: comma-separated groups.
# The default is hitl_site.roles.SUPERVISORS, written out: settings import no app module.
HITL_DRAFT_REVIEWER_GROUPS = [
    name.strip() for name in os.environ.get("HITL_DRAFT_REVIEWER_GROUPS", "supervisors").split(",") if name.strip()
]
HITL_WAIT_MAX_SECONDS = 60
# Insights counts a decision made sooner than this after its card was shown as rubber-stamping.
HITL_RUBBER_STAMP_SECONDS = float(os.environ.get("HITL_RUBBER_STAMP_SECONDS", "2"))
# /metrics asks for `Authorization: Bearer <this>` when set; unset, it answers only localhost.
HITL_METRICS_TOKEN = os.environ.get("HITL_METRICS_TOKEN", "")
HITL_MAX_JSON_DEPTH = int(os.environ.get("HITL_MAX_JSON_DEPTH", "32"))
# Requests per window (seconds) each agent may make; 0 turns the limit off.
HITL_AGENT_RATE_LIMIT = (
    int(os.environ.get("HITL_AGENT_RATE_LIMIT", "1200")),
    int(os.environ.get("HITL_AGENT_RATE_WINDOW", "60")),
)
# Approval receipts: each agent's HMAC secret is derived from this key (rotating it changes every
# agent's secret), and a receipt is good for this long after the approval.
HITL_RECEIPT_KEY = os.environ.get("HITL_RECEIPT_KEY") or SECRET_KEY
HITL_RECEIPT_TTL_SECONDS = int(os.environ.get("HITL_RECEIPT_TTL_SECONDS", "3600"))

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None  # Tasks report through the database, never through results.
CELERY_TASK_IGNORE_RESULT = True
# The database is the source of truth and every task is idempotent, so a task is acknowledged
# only after it ran: a killed worker's task is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged task after this long; no task is scheduled further ahead.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# How often the newest events are verified and anchored in a signed, witnessed chain head.
AUDIT_ANCHOR_SECONDS = int(os.environ.get("AUDIT_ANCHOR_SECONDS", "60"))
# A head is signed at this cadence even when nothing happens (as CloudTrail writes a digest each
# hour), and each head promises the next within it: a gap in the head chain, or a newest head older
# than the cadence plus the margin, is reported ("gap", "stale"). A rollback of the database and the
# witness directory together shorter than the two goes unseen by them (a remote witness sees it).
AUDIT_HEAD_CADENCE_SECONDS = int(os.environ.get("AUDIT_HEAD_CADENCE_SECONDS", "300"))
# Room for a busy worker or a beat restart before a late head counts as a gap.
AUDIT_HEAD_MARGIN_SECONDS = int(os.environ.get("AUDIT_HEAD_MARGIN_SECONDS", "120"))
CELERY_BEAT_SCHEDULE = {
    # SLAs are counted in minutes; a 30-second sweep keeps a warning, an escalation or the
    # timeout fallback (which replaced the plain expiry) at most 30 s late.
    "escalate-overdue-actions": {
        "task": "approvals.tasks.escalate_overdue",
        "schedule": timedelta(seconds=30),
    },
    # Held outputs (#36) have the type's SLA, counted in minutes too: withheld at most 30 s late.
    "withhold-overdue-outputs": {
        "task": "approvals.tasks.withhold_overdue_outputs",
        "schedule": timedelta(seconds=30),
    },
    # A lost notification or execution is noticed after HITL_RECOVERY_GRACE_SECONDS; checking every minute
    # adds at most a minute to that.
    "recover-lost-work": {
        "task": "approvals.tasks.recover_lost_work",
        "schedule": timedelta(seconds=60),
    },
    # Teams cards to post or update that a lost task left undone, as recover-lost-work does for Slack's.
    "recover-teams-cards": {
        "task": "teams.tasks.dispatch_teams_cards",
        "schedule": timedelta(seconds=60),
    },
    # Digests are hourly or daily: an hourly run serves both (a daily one once a day has passed).
    "send-digests": {
        "task": "approvals.tasks.send_digests",
        "schedule": crontab(minute=0),
    },
    # Push messages whose task was lost (Redis down when they were queued): as recover-lost-work.
    "recover-push-messages": {
        "task": "push.tasks.dispatch_push_messages",
        "schedule": timedelta(seconds=60),
    },
    # Sampling has no deadline; every five minutes keeps the queue fresh without scanning often.
    "draw-samples": {
        "task": "sampling.tasks.draw_samples",
        "schedule": timedelta(minutes=5),
    },
    # Incremental (only events since the last signed head), so cheap. The interval is the window
    # in which the newest events are chained but not yet anchored in a witnessed head (see
    # docs/reliability.md); a run that finds nothing new signs no head (at most one an hour).
    "audit-verify-chain": {
        "task": "audit.tasks.verify_chain",
        "schedule": timedelta(seconds=AUDIT_ANCHOR_SECONDS),
        "kwargs": {"periodic": True},
    },
    # The cadence: a signed head every AUDIT_HEAD_CADENCE_SECONDS whatever happens, so that heads
    # deleted from the database and the witness directory together leave a gap in time that the
    # next head (or the age of the newest) shows. Incremental, so as cheap as the run above.
    "audit-head-cadence": {
        "task": "audit.tasks.verify_chain",
        "schedule": timedelta(seconds=AUDIT_HEAD_CADENCE_SECONDS),
    },
    # The incremental check trusts what it verified before; once a day the whole chain is walked
    # again from the last checkpoint, which catches an edit to an old event that kept its hash.
    "audit-verify-chain-fully": {
        "task": "audit.tasks.verify_chain",
        "schedule": timedelta(days=1),
        "kwargs": {"full": True},
    },
    # Retention is counted in months; a daily purge keeps the log at most a day over it.
    "audit-purge-expired": {
        "task": "audit.tasks.purge_expired",
        "schedule": timedelta(days=1),
    },
    # MCP tasks live for days (HITL_MCP_TASK_TTL_SECONDS); an hourly purge keeps them at most an
    # hour past their TTL, and 2025 sessions as long as a task, counted from their opening.
    "mcp-purge-expired": {
        "task": "gateway.tasks.purge_expired",
        "schedule": timedelta(hours=1),
    },
}

# The audit log. Checkpoints and verified chain heads are signed with this key (HMAC-SHA256);
# keep it out of the database's reach, so that whoever can rewrite the table cannot re-sign it.
AUDIT_SIGNING_KEY = (
    os.environ.get("AUDIT_SIGNING_KEY")
    or hashlib.sha256(f"countersign.audit.signing:{SECRET_KEY}".encode()).hexdigest()
)
# Each signed chain head is also written outside PostgreSQL: to this directory (one file per
# head, never overwritten; make it append-only, README), to a webhook receiver, and to any
# witness class listed (audit/witness.py). Empty AUDIT_WITNESS_DIR turns the directory off.
AUDIT_WITNESS_DIR = os.environ.get("AUDIT_WITNESS_DIR", str(RUN_DIR / "audit-witness"))
AUDIT_WITNESS_WEBHOOK_URL = os.environ.get("AUDIT_WITNESS_WEBHOOK_URL", "")
# A witness directory that is not append-only: "refuse" (production's default: `migrate` and
# `check` fail, audit.E001) or "warn" (elsewhere: audit.W001 at start-up and a warning on /audit/).
AUDIT_WITNESS_DIR_CHECK = os.environ.get("AUDIT_WITNESS_DIR_CHECK", "refuse" if PRODUCTION else "warn")
if AUDIT_WITNESS_DIR_CHECK not in ("refuse", "warn"):
    raise ImproperlyConfigured(f"AUDIT_WITNESS_DIR_CHECK is 'refuse' or 'warn', not {AUDIT_WITNESS_DIR_CHECK!r}")
# A remote witness at another site (audit/witness.py RemoteWitness; examples/witness_receiver.py):
# it countersigns each head with its own Ed25519 key, whose public half (base64 of the 32 raw bytes)
# is given here, and is read back by every verification. The token authenticates Countersign to it.
AUDIT_WITNESS_REMOTE_URL = os.environ.get("AUDIT_WITNESS_REMOTE_URL", "")
AUDIT_WITNESS_REMOTE_PUBLIC_KEY = os.environ.get("AUDIT_WITNESS_REMOTE_PUBLIC_KEY", "")
AUDIT_WITNESS_REMOTE_TOKEN = os.environ.get("AUDIT_WITNESS_REMOTE_TOKEN", "")
if AUDIT_WITNESS_REMOTE_URL and not (AUDIT_WITNESS_REMOTE_PUBLIC_KEY and AUDIT_WITNESS_REMOTE_TOKEN):
    raise ImproperlyConfigured(
        "AUDIT_WITNESS_REMOTE_URL needs AUDIT_WITNESS_REMOTE_PUBLIC_KEY (the witness's Ed25519 public key, base64) "
        "and AUDIT_WITNESS_REMOTE_TOKEN: a remote witness whose receipts cannot be checked anchors nothing."
    )
AUDIT_WITNESS_CLASSES = env_list("AUDIT_WITNESS_CLASSES")
# Events are chained in this many lanes, each with its own lock, so that concurrent appends do
# not queue behind one another (docs/reliability.md). More lanes than concurrent writers is
# enough; lowering it later leaves the higher lanes as they are.
AUDIT_CHAIN_LANES = int(os.environ.get("AUDIT_CHAIN_LANES", "16"))
# Events older than this are purged (whole ranges, behind a signed checkpoint). The database
# itself refuses to delete events younger than 180 days, whatever this says.
AUDIT_RETENTION = timedelta(days=int(os.environ.get("AUDIT_RETENTION_DAYS", "400")))

# Notifications (SLA warnings, escalations, digests). Webhooks carry an HMAC-SHA256 signature
# made with this secret; receivers verify it.
HITL_WEBHOOK_SECRET = os.environ.get("HITL_WEBHOOK_SECRET") or "webhooks:" + SECRET_KEY
HITL_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("HITL_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Decision callbacks (a proposal's or an agent's callback_url) never reach loopback, private,
# link-local or reserved addresses, unless their network is listed here (comma-separated CIDRs,
# e.g. "10.20.0.0/16" for receivers inside the deployment's own network).
HITL_CALLBACK_ALLOWED_NETWORKS = [
    network.strip() for network in os.environ.get("HITL_CALLBACK_ALLOWED_NETWORKS", "").split(",") if network.strip()
]
# Attempts per notification before it is recorded as failed; the waits double from the base.
HITL_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("HITL_NOTIFY_MAX_ATTEMPTS", "5"))
HITL_NOTIFY_RETRY_BASE_SECONDS = int(os.environ.get("HITL_NOTIFY_RETRY_BASE_SECONDS", "30"))
# Capped below the broker's visibility timeout: Redis would deliver a later-scheduled task twice.
HITL_NOTIFY_RETRY_MAX_SECONDS = min(
    int(os.environ.get("HITL_NOTIFY_RETRY_MAX_SECONDS", "900")),
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] // 2,
)
# How long a worker may hold a notification it is sending before it counts as lost.
HITL_NOTIFY_LEASE_SECONDS = int(os.environ.get("HITL_NOTIFY_LEASE_SECONDS", "300"))
# How late queued work may be before the recovery sweep assumes its task was lost.
HITL_RECOVERY_GRACE_SECONDS = int(os.environ.get("HITL_RECOVERY_GRACE_SECONDS", "120"))
# End users' "This is wrong" / "Get a human" have their own SLA.
HITL_USER_ESCALATION_SLA = timedelta(minutes=int(os.environ.get("HITL_USER_ESCALATION_SLA_MINUTES", "15")))
# Sampling draws are reproducible: the same seed and action id always give the same answer.
HITL_SAMPLING_SEED = os.environ.get("HITL_SAMPLING_SEED", "countersign-sampling")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# Slack approvals (README, "Decide from Slack"): without a bot token nothing is posted. The signing
# secret checks every interactivity request; SLACK_API_URL exists for tests' stand-in server.
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
# Microsoft Teams approvals (README, "Decide from Microsoft Teams"): without an app id nothing is
# posted and every activity is refused. The app id and secret are the bot's Entra app registration's;
# TEAMS_TENANT_ID (the bot's tenant) is required: only its people are matched to users. Cards go to the
# channel whose conversation id is TEAMS_CHANNEL_CONVERSATION_ID (at TEAMS_SERVICE_URL) and, with
# TEAMS_PERSONAL_CHATS, to the personal chat of each linked reviewer who may decide the action.
# TEAMS_OPENID_METADATA_URL and TEAMS_TOKEN_URL are Microsoft's; they exist for tests' stand-ins.
TEAMS_APP_ID = os.environ.get("TEAMS_APP_ID", "")
TEAMS_APP_PASSWORD = os.environ.get("TEAMS_APP_PASSWORD", "")
TEAMS_TENANT_ID = os.environ.get("TEAMS_TENANT_ID", "")
TEAMS_SERVICE_URL = os.environ.get("TEAMS_SERVICE_URL", "https://smba.trafficmanager.net/teams/")
TEAMS_CHANNEL_CONVERSATION_ID = os.environ.get("TEAMS_CHANNEL_CONVERSATION_ID", "")
TEAMS_PERSONAL_CHATS = os.environ.get("TEAMS_PERSONAL_CHATS", "") in ("1", "true", "yes")
TEAMS_OPENID_METADATA_URL = os.environ.get(
    "TEAMS_OPENID_METADATA_URL", "https://login.botframework.com/v1/.well-known/openidconfiguration"
)
TEAMS_TOKEN_URL = os.environ.get("TEAMS_TOKEN_URL", "")  # default: Entra's, for TEAMS_TENANT_ID
# Approve and Reject links in emails: signed, bound to the action and reviewer, used once; a
# day, so that a daily digest's links still work the next morning.
HITL_EMAIL_LINK_MAX_AGE_SECONDS = int(os.environ.get("HITL_EMAIL_LINK_MAX_AGE_SECONDS", str(24 * 3600)))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "countersign@localhost")

# Push notifications to the installable inbox (push/, README "Decide from your phone"). Without a
# VAPID key pair push is off and the preferences page says so; `manage.py vapid_keys` makes one.
# The private key: base64url of the raw 32-byte P-256 key; the public key is derived from it.
HITL_VAPID_PRIVATE_KEY = os.environ.get("HITL_VAPID_PRIVATE_KEY", "")
# Who the push services may contact about this server (RFC 8292's "sub"): a mailto: or https: URL.
HITL_VAPID_SUBJECT = os.environ.get("HITL_VAPID_SUBJECT", "") or f"mailto:{DEFAULT_FROM_EMAIL}"
# What a notification holds: "summary" (the action's plain summary) or "bare" (only that a card
# waits, for deployments that keep even summaries off the push services and lock screens).
HITL_PUSH_PAYLOAD = os.environ.get("HITL_PUSH_PAYLOAD", "summary")
if HITL_PUSH_PAYLOAD not in ("summary", "bare"):
    raise ImproperlyConfigured('HITL_PUSH_PAYLOAD is "summary" or "bare".')
# The action types (keys, comma-separated) whose reversible actions may be approved from a
# notification's Approve button; none by default. Irreversible actions never are.
HITL_PUSH_APPROVE_ACTION_TYPES = env_list("HITL_PUSH_APPROVE_ACTION_TYPES")
# How long a notification's Approve stays valid (it works once, for its reviewer only).
HITL_PUSH_APPROVE_MAX_AGE_SECONDS = int(os.environ.get("HITL_PUSH_APPROVE_MAX_AGE_SECONDS", str(12 * 3600)))
# The push services a browser's subscription may name (a host, or ".suffix" for its subdomains):
# Countersign POSTs there, so a subscription cannot point it at anything else. Chrome, Edge,
# Firefox and Safari's services by default.
HITL_PUSH_SERVICE_HOSTS = env_list(
    "HITL_PUSH_SERVICE_HOSTS",
    "fcm.googleapis.com,updates.push.services.mozilla.com,.push.apple.com,.notify.windows.com",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# The demo (`manage.py seed_demo`): every demo user's password, and the demo agent's token.
HITL_DEMO_PASSWORD = os.environ.get("HITL_DEMO_PASSWORD", "countersign")
HITL_DEMO_AGENT_TOKEN = os.environ.get("HITL_DEMO_AGENT_TOKEN", "cs_demo_agent_token_for_local_use_only")

# The repair loop: invalid proposals an agent may send in one session before the next goes to a person.
HITL_REPAIR_ATTEMPTS = int(os.environ.get("HITL_REPAIR_ATTEMPTS", "3"))
# How often a held MCP tools/call tells its client (by a progress notification) that it still waits.
HITL_MCP_PROGRESS_SECONDS = float(os.environ.get("HITL_MCP_PROGRESS_SECONDS", "10"))
# A held call as an MCP task (clients that declare the Tasks extension): how long the task row is
# kept (it must outlive the SLA and its escalation tiers), and how often clients are asked to poll.
HITL_MCP_TASK_TTL_SECONDS = int(os.environ.get("HITL_MCP_TASK_TTL_SECONDS", str(7 * 24 * 3600)))
HITL_MCP_POLL_INTERVAL_MS = int(os.environ.get("HITL_MCP_POLL_INTERVAL_MS", "2000"))
# A held call for a 2026 client without tasks (`input_required`): each round holds at most this long
# before answering `input_required` again, well below the common 60 s client request timeouts.
HITL_MCP_HOLD_SECONDS = float(os.environ.get("HITL_MCP_HOLD_SECONDS", "20"))
# How long `tools/list` waits for each upstream (all at once) before offering its last good listing.
HITL_MCP_LIST_SECONDS = float(os.environ.get("HITL_MCP_LIST_SECONDS", "0.8"))
# The key ring sealing `requestState` (AES-256-GCM, the SDK's codec), shared by every web process:
# the first key seals, every key opens. Rotate by prepending a new key, then dropping the old one
# after HITL_MCP_STATE_TTL_SECONDS. By default one key derived from SECRET_KEY.
HITL_MCP_STATE_KEYS = env_list("HITL_MCP_STATE_KEYS") or [
    hashlib.sha256(f"countersign.mcp.request-state:{SECRET_KEY}".encode()).hexdigest()
]
HITL_MCP_STATE_TTL_SECONDS = float(os.environ.get("HITL_MCP_STATE_TTL_SECONDS", str(24 * 3600)))
