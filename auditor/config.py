"""Settings: defaults, then AUDITOR_* variables, then overrides. The only reader of os.environ."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEV_SECRET_KEY = "dev-insecure-secret-key"  # noqa: S105 - the value check() refuses

# name: (default, one-line description). Every setting the service reads is here.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "DEBUG": (False, "Flask debug mode; never in production"),
    "TESTING": (False, "set by the test suite"),
    "INSTANCE_PATH": (
        None,
        "folder for the SQLite database and generated dev keys (default: Flask's)",
    ),
    "DATABASE_URL": (None, "SQLAlchemy URL; default sqlite:///<instance>/auditor.db"),
    "SQL_ECHO": (False, "log every SQL statement (development only)"),
    "SECRET_KEY": (None, "Flask session signing key; also AUDITOR_SECRET_KEY_FILE"),
    "AUDIT_SIGNING_KEY": (None, "Ed25519 private key (PEM) for audit checkpoints; or *_FILE"),
    "MASTER_KEY": (None, "base64 of a 32-byte vault master key (one version); or *_FILE below"),
    "MASTER_KEY_FILE": (None, "vault master key ring file (several versions, mode 0600)"),
    "DISPOSITION_KEY": (
        None,
        "base64 of a 32-byte key for the keyed digests in disposition records; or *_FILE",
    ),
    "CHECK_KEYS_AT_START": (True, "check every master key version against its canary at start"),
    "AUDIT_LOG_ORIGIN": ("auditor.local/audit-log", "checkpoint origin line and note key name"),
    "PAN_POLICY": ("redact", "what ingest does with card numbers in content: redact or reject"),
    "MAX_CONTENT_LENGTH": (1024 * 1024, "largest JSON request body in bytes"),
    "MAX_QUERY_STRING_BYTES": (4096, "longest query string of a request (longer: 414)"),
    "MAX_HEADER_BYTES": (16 * 1024, "largest total size of a request's headers (larger: 431)"),
    "BULK_MAX_CONTENT_LENGTH": (256 * 1024 * 1024, "largest NDJSON bulk-ingest body in bytes"),
    "MAX_RECORD_CONTENT_BYTES": (256 * 1024, "largest content of one record, as JSON bytes"),
    "INGEST_BATCH_SIZE": (2000, "records per database batch during ingest"),
    "PAGE_SIZE": (50, "default page size of list endpoints"),
    "MAX_PAGE_SIZE": (500, "largest page size a client may ask for"),
    "TOKEN_TTL_DAYS": (90, "default lifetime of a new API token"),
    "AUTH_FAILURE_LIMIT": (10, "failed authentications per source per window before 429"),
    "AUTH_FAILURE_WINDOW_SECONDS": (60, "the window failed authentications are counted in"),
    "LOG_LEVEL": ("INFO", "root log level"),
    "METRICS_MULTIPROCESS_DIR": (
        None,
        "folder where every worker writes its metrics (PROMETHEUS_MULTIPROC_DIR; auditor.serving)",
    ),
    "LOG_JSON": (True, "structured JSON log lines (false: plain text for a terminal)"),
    "TRUSTED_PROXIES": (
        0,
        "reverse proxies in front that set X-Forwarded-For/-Proto/-Host (0: none, trust no header)",
    ),
    "TIMEZONE": (
        "America/Toronto",
        "the MSP's time zone: when its days begin for deadlines, dashboards and reports (IANA)",
    ),
    "SESSION_IDLE_MINUTES": (30, "a web session unused this long ends (sign in again)"),
    "SESSION_ABSOLUTE_HOURS": (12, "a web session ends this long after sign-in, used or not"),
    "SIGNIN_FAILURE_LIMIT": (
        5,
        "failed sign-ins per account and per source before a lockout (then 429 until it ends)",
    ),
    "SIGNIN_LOCKOUT_SECONDS": (900, "the window sign-in failures are counted in: the lockout"),
    "SCHEDULER": ("off", "off, or embedded: run the job scheduler inside the web process"),
    "SCHEDULER_TIMEZONE": ("UTC", "time zone of the scheduler's clock times (IANA name)"),
    "SCHEDULER_PURGE_AT": ("03:00", "daily retention purge, HH:MM in the scheduler's time zone"),
    "SCHEDULER_CHECKPOINT_AT": ("00:15", "daily signed audit checkpoint, HH:MM"),
    "SCHEDULER_COMPLIANCE_AT": ("06:30", "daily compliance checks, HH:MM"),
    "SCHEDULER_JOBS": ("all", "jobs this scheduler runs: all, or comma-separated job ids"),
    "SCHEDULER_TEST_INTERVAL_SECONDS": (0, "above 0: every job runs every N seconds (tests only)"),
    "SCHEDULER_MISFIRE_GRACE_SECONDS": (3600, "how late a missed run may still start"),
    "SCHEDULER_CATCH_UP": (
        True,
        "at start, run each job's latest missed scheduled time once (service down, new install)",
    ),
    "SCHEDULER_LOCK_POLL_SECONDS": (10, "how often a standby scheduler retries the lock"),
    "SCHEDULER_HEARTBEAT_SECONDS": (30, "how often a running job records that it is alive"),
    "SCHEDULER_STALE_RUN_SECONDS": (
        300,
        "a running job silent this long is interrupted and run again (its process is gone)",
    ),
    "PURGE_BATCH_SIZE": (1000, "records per purge transaction (each batch commits on its own)"),
    "RETENTION_FISCAL_YEAR_END": ("12-31", "fiscal year-end as MM-DD for billing retention (R17)"),
    "ORGANIZATION_NAME": (
        None,
        "organization named on access reports and letters (default: the inventory's MSP)",
    ),
    "ORGANIZATION_CONTACT": (
        None,
        "contact printed on access reports and letters (default: the MSP's contact email)",
    ),
    "PRIVACY_OFFICER": (
        None,
        "privacy officer's name and contact as printed on reports and letters: 'Name, email'",
    ),
}

# settings that may come from a file named by AUDITOR_<NAME>_FILE
SECRET_SETTINGS = ("SECRET_KEY", "AUDIT_SIGNING_KEY", "DISPOSITION_KEY")
# default file names of generated development secrets, inside the instance folder
INSTANCE_SECRET_FILES = {
    "SECRET_KEY": "secret_key",
    "AUDIT_SIGNING_KEY": "audit-signing-key.pem",
    "DISPOSITION_KEY": "disposition-key",
}
INSTANCE_MASTER_KEY_FILE = "master-keys"

_PREFIX = "AUDITOR_"


class ConfigError(Exception):
    """A setting is missing, malformed or unsafe; the message names it, never its value."""


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.strip().lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{_PREFIX}{name} must be true or false")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{_PREFIX}{name} must be an integer") from None
    return raw


def read_secret_file(path: str | Path, name: str) -> str:
    """Read a secret from a file that only its owner may read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        raise ConfigError(f"{_PREFIX}{name}_FILE: cannot read {path}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{_PREFIX}{name}_FILE: {path} is readable by group or others; chmod 600 it"
        )
    return path.read_text(encoding="utf-8").strip()


def load(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Resolve every setting: defaults, then environment, then overrides."""
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {name: default for name, (default, _) in DEFAULTS.items()}
    for name, (default, _) in DEFAULTS.items():
        if _PREFIX + name in env:
            settings[name] = _coerce(name, env[_PREFIX + name], default)
    if settings["METRICS_MULTIPROCESS_DIR"] is None:  # prometheus_client's own variable
        settings["METRICS_MULTIPROCESS_DIR"] = env.get("PROMETHEUS_MULTIPROC_DIR") or None
    for name in SECRET_SETTINGS:
        file_var = f"{_PREFIX}{name}_FILE"
        if env.get(file_var) and settings[name] is None:
            settings[name] = read_secret_file(env[file_var], name)
    settings.update(overrides or {})
    return settings


def fill_instance_defaults(settings: dict[str, Any], instance_path: str) -> None:
    """Defaults that depend on the instance folder: the SQLite file and generated dev secrets."""
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'auditor.db'}"
    for name, filename in INSTANCE_SECRET_FILES.items():
        candidate = Path(instance_path) / filename
        if settings.get(name) is None and candidate.is_file():
            settings[name] = read_secret_file(candidate, name)
    ring_file = Path(instance_path) / INSTANCE_MASTER_KEY_FILE
    has_master_key = settings.get("MASTER_KEY") or settings.get("MASTER_KEY_FILE")
    if not has_master_key and ring_file.is_file():
        settings["MASTER_KEY_FILE"] = str(ring_file)


def check(settings: Mapping[str, Any]) -> None:
    """Refuse values that are unsafe outside debug and testing."""
    if settings.get("PAN_POLICY") not in {"redact", "reject"}:
        raise ConfigError("AUDITOR_PAN_POLICY must be 'redact' or 'reject'")
    _check_scheduler(settings)
    _check_zone(settings, "TIMEZONE", "America/Toronto")
    if int(settings.get("TRUSTED_PROXIES", 0)) < 0:
        raise ConfigError("AUDITOR_TRUSTED_PROXIES must be 0 or more")
    for name in ("SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS", "SIGNIN_FAILURE_LIMIT"):
        if int(settings.get(name, 1)) < 1:
            raise ConfigError(f"AUDITOR_{name} must be at least 1")
    if parse_month_day(str(settings.get("RETENTION_FISCAL_YEAR_END", "12-31"))) is None:
        raise ConfigError("AUDITOR_RETENTION_FISCAL_YEAR_END must be a day of the year as MM-DD")
    if settings.get("DEBUG") or settings.get("TESTING"):
        return
    key = settings.get("SECRET_KEY")
    if not key or key == DEV_SECRET_KEY or len(str(key)) < 32:
        raise ConfigError(
            "AUDITOR_SECRET_KEY (or AUDITOR_SECRET_KEY_FILE) must be set to at least 32 random "
            "characters; run 'auditor instance init' to generate development secrets"
        )
    if not settings.get("MASTER_KEY") and not settings.get("MASTER_KEY_FILE"):
        raise ConfigError(
            "AUDITOR_MASTER_KEY or AUDITOR_MASTER_KEY_FILE must give the vault master key; "
            "run 'auditor instance init' to generate a development key ring"
        )
    if settings.get("MASTER_KEY") and settings.get("MASTER_KEY_FILE"):
        raise ConfigError("set AUDITOR_MASTER_KEY or AUDITOR_MASTER_KEY_FILE, not both")
    if not settings.get("AUDIT_SIGNING_KEY"):
        raise ConfigError(
            "AUDITOR_AUDIT_SIGNING_KEY_FILE must name an Ed25519 private key (PEM); "
            "run 'auditor instance init' to generate one"
        )
    if not settings.get("DISPOSITION_KEY"):
        raise ConfigError(
            "AUDITOR_DISPOSITION_KEY_FILE must name the disposition digest key (base64 of 32 "
            "bytes); run 'auditor instance init' to generate one"
        )


def _check_zone(settings: Mapping[str, Any], name: str, default: str) -> None:
    try:
        ZoneInfo(str(settings.get(name, default)))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"AUDITOR_{name} must be an IANA time zone name") from None


def _check_scheduler(settings: Mapping[str, Any]) -> None:
    if settings.get("SCHEDULER", "off") not in {"off", "embedded"}:
        raise ConfigError("AUDITOR_SCHEDULER must be 'off' or 'embedded'")
    _check_zone(settings, "SCHEDULER_TIMEZONE", "UTC")
    for name in ("SCHEDULER_PURGE_AT", "SCHEDULER_CHECKPOINT_AT", "SCHEDULER_COMPLIANCE_AT"):
        if parse_clock_time(str(settings.get(name, "00:00"))) is None:
            raise ConfigError(f"AUDITOR_{name} must be a time of day as HH:MM")
    for name in ("SCHEDULER_MISFIRE_GRACE_SECONDS", "SCHEDULER_LOCK_POLL_SECONDS"):
        if int(settings.get(name, 1)) < 1:
            raise ConfigError(f"AUDITOR_{name} must be at least 1")


def parse_clock_time(value: str) -> tuple[int, int] | None:
    """'HH:MM' as (hour, minute), or None when it is not a time of day."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    return (int(match[1]), int(match[2])) if match else None


def parse_month_day(value: str) -> tuple[int, int] | None:
    """'MM-DD' as (month, day), or None when it is not a day of the year (02-29 is allowed)."""
    match = re.fullmatch(r"(\d\d)-(\d\d)", value.strip())
    if not match:
        return None
    try:
        day = dt.date(2000, int(match[1]), int(match[2]))
    except ValueError:
        return None
    return day.month, day.day


def describe() -> list[tuple[str, Any, str]]:
    """Every setting with its default and description, for documentation and `auditor config`."""
    return [(_PREFIX + name, default, text) for name, (default, text) in DEFAULTS.items()]
