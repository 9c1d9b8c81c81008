"""Configuration: defaults, then the instance folder's config.py, then SURVEYAPP_* variables.

Every setting can be overridden from the environment: ``SURVEYAPP_DATABASE_URL``
sets ``SQLALCHEMY_DATABASE_URI``, and any other ``SURVEYAPP_NAME`` sets ``NAME``
(values that parse as JSON, such as numbers and booleans, are decoded).
"""
import json
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment names that map to a Flask/extension key of another spelling.
_ALIASES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
}


def defaults(instance_path: str) -> dict:
    """The settings a fresh checkout runs with: SQLite under instance/, shipped instruments."""
    instance = Path(instance_path)
    return {
        "ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'surveyapp.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # A pooled database connection idle this long is pinged before use (extensions.py).
        "DB_PING_IDLE_SECONDS": 10,
        "INSTRUMENTS_DIR": str(PROJECT_ROOT / "instruments"),
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "BABEL_DEFAULT_LOCALE": "en",
        # A survey answer is small; a whole-response JSON body stays far below this.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Where rate limits count. The default, a SQLite file (surveyapp/limit_storage.py),
        # is shared by every worker process of this host: 120/minute is 120 across `make
        # run`'s workers. Several app servers need one store they all reach: a redis:// URI
        # (docs/deploy.md; production on PostgreSQL refuses a file). worker-memory:// (or
        # memory://) counts in each process alone: N workers let N times the limit through.
        "RATELIMIT_STORAGE_URI": f"sqlite:///{instance / 'rate-limits.sqlite'}",
        # Redis down must not take the site down: count in memory meanwhile (the limiter
        # logs the switch), retry the storage later, and never turn a storage error into a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "RATELIMIT_HEADERS_ENABLED": True,
        "API_RATE_LIMIT": "120/minute",
        "LOGIN_RATE_LIMIT": "10/minute;50/hour",
        # The address printed on flyers and QR codes; empty means the address of the request.
        "PUBLIC_BASE_URL": "",
        # How many reverse proxies stand in front of the app (0: none; trust no X-Forwarded-*).
        "PROXY_COUNT": 0,
        "SQLITE_BUSY_TIMEOUT_MS": 15000,
        "SQLITE_JOURNAL_MODE": "WAL",
        # Job results (exports): a folder several app servers may share; files are kept
        # JOB_RESULT_HOURS, and a running job silent for JOB_STALE_MINUTES is failed.
        "JOB_RESULTS_DIR": str(instance / "job-results"),
        "JOB_RESULT_HOURS": 24,
        "JOB_STALE_MINUTES": 10,
        # How often the embedded worker thread and `surveyapp worker` run the sweep (stale
        # jobs failed, expired results deleted) while no job arrives; 0 turns it off.
        "JOB_SWEEP_SECONDS": 300,
        # Per user (surveyapp/jobs/quotas.py): jobs waiting or running at once, per kind (a
        # number caps every kind alike), and result files of finished jobs kept (they go
        # after JOB_RESULT_HOURS). 0 or None: no cap. A theme run over 20,000 texts takes a
        # worker to about 1 GB, hence fewer of those.
        "JOBS_MAX_ACTIVE_PER_USER": {"export": 3, "themes": 2},
        "JOBS_MAX_FILES_PER_USER": 20,
        # Each project's own codebooks (a copy of the shared one in INSTRUMENTS_DIR/codebooks,
        # made when an analyst first adds a theme to it): <project id>/<instrument id>.yaml.
        # Empty: instance/codebooks. Several servers: a folder they all mount, like
        # JOB_RESULTS_DIR (docs/deploy.md).
        "CODEBOOKS_DIR": "",
        # Set (redis://...) to run jobs on an RQ queue served by `surveyapp worker`;
        # empty: a worker thread inside the app process.
        "REDIS_URL": "",
        # gzip pages, JSON and static text in the app; False when a reverse proxy does it.
        "COMPRESS": True,
        "COMPRESS_MIN_BYTES": 500,
        # Retention (`surveyapp retention run`): days after which a response's contact
        # details (answers to pii questions) and staff forms held over an expired login
        # are deleted. None keeps them: contact details serve until the follow-up is done,
        # which only the organisation knows.
        "RETENTION_CONTACT_DAYS": None,
        "RETENTION_HELD_DAYS": 7,
        "JOB_QUEUE": "surveyapp-jobs",
        # A theme run from the analysis page over more texts than this is a background
        # job (with progress); smaller ones run while the request waits.
        "THEMES_INLINE_MAX_TEXTS": 2000,
    }


def from_environment(environ=os.environ) -> dict:
    """Settings named by SURVEYAPP_* variables, JSON-decoded where they parse."""
    settings = {}
    for name, raw in environ.items():
        if not name.startswith("SURVEYAPP_") or name.startswith("SURVEYAPP_TEST_"):
            continue
        key = name.removeprefix("SURVEYAPP_")
        key = _ALIASES.get(key, key)
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        settings[key] = value
    return settings


class ConfigurationError(RuntimeError):
    """A setting production cannot run without; the message names the variable."""


def finalise(config) -> None:
    """Derive what depends on other settings: production cookies, a persistent secret key.

    Raises ConfigurationError in production without SURVEYAPP_SECRET_KEY or
    SURVEYAPP_PANEL_SECRET (a second server would mint keys of its own, refuse every
    session the first signed and fail to recognise its panel codes) or with memory:// or
    worker-memory:// rate limits (each worker would count alone), and anywhere with a
    PANEL_SECRET under 32 characters.
    """
    if config.get("ENV") == "production":
        if not config.get("SECRET_KEY"):
            raise ConfigurationError(
                "SURVEYAPP_ENV=production needs SURVEYAPP_SECRET_KEY: set it to the same long "
                "random value on every server (python -c 'import secrets; print(secrets.token_hex(32))').")
        limits_uri = str(config.get("RATELIMIT_STORAGE_URI", ""))
        if limits_uri.startswith(("memory://", "worker-memory://")):
            raise ConfigurationError(
                "SURVEYAPP_ENV=production needs SURVEYAPP_RATELIMIT_STORAGE_URI shared by every "
                "worker (e.g. redis://127.0.0.1:6379), not a memory storage, which counts per process.")
        if limits_uri.startswith("sqlite:") and not str(
                config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite:"):
            # A database server means app servers may be several; a file counts per host.
            raise ConfigurationError(
                "SURVEYAPP_ENV=production with a database server needs "
                "SURVEYAPP_RATELIMIT_STORAGE_URI shared by every app server (e.g. "
                "redis://127.0.0.1:6379), not a file, which counts per host.")
        if not config.get("PANEL_SECRET"):
            raise ConfigurationError(
                "SURVEYAPP_ENV=production needs SURVEYAPP_PANEL_SECRET: set it to the same long random "
                "value on every server and keep it out of database backups, since it is what keeps "
                "panel codes from being tested against a copy of the database "
                "(python -c 'import secrets; print(secrets.token_hex(32))').")
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
    url = config["SQLALCHEMY_DATABASE_URI"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            # A plain PostgreSQL URL should just work: use the driver we ship (psycopg 3).
            config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url.removeprefix(prefix)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(Path(config["INSTANCE_PATH"]))
    # The key of panel codes' link keys (domain/panel_code.py). Never in the database: a
    # backup of it alone must not let anyone test guessed codes offline. Changing it
    # unlinks every panel, so it is kept like the secret key.
    if not config.get("PANEL_SECRET"):
        config["PANEL_SECRET"] = _instance_secret(Path(config["INSTANCE_PATH"]), "panel_secret")
    config["PANEL_SECRET"] = str(config["PANEL_SECRET"])  # a JSON-decoded environment value may be a number
    if len(config["PANEL_SECRET"].encode()) < MIN_PANEL_SECRET:
        raise ConfigurationError(
            f"SURVEYAPP_PANEL_SECRET must be at least {MIN_PANEL_SECRET} characters of random text "
            "(python -c 'import secrets; print(secrets.token_hex(32))').")


MIN_PANEL_SECRET = 32


def _instance_secret(instance: Path, name: str = "secret_key") -> str:
    """A random key (32 random bytes as hex) kept in instance/<name> so that every worker
    and restart shares it."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = instance / f".{name}.{os.getpid()}"
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        # link() is atomic and refuses to overwrite: when two workers boot at once,
        # exactly one key wins and both read it.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
