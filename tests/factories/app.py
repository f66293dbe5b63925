"""Settings of a test app and the environment of a child ``auditor`` process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.factories.keys import DISPOSITION_KEY, MASTER_KEY, SECRET_KEY, SIGNING_KEY_PEM


def app_settings(database_url: str, **extra: Any) -> dict[str, Any]:
    """What ``create_app`` gets in tests: the run's keys, the test database, ``extra`` on top."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "AUDIT_SIGNING_KEY": SIGNING_KEY_PEM,
        "DISPOSITION_KEY": DISPOSITION_KEY,
        "MASTER_KEY": MASTER_KEY,
        "CHECK_KEYS_AT_START": False,  # tests call the check themselves, inside their transaction
        "LOG_JSON": True,
        **extra,
    }


def process_environment(*, database_url: str, instance: Path, **settings: Any) -> dict[str, str]:
    """The environment of a child ``auditor`` process: the run's keys, its own instance folder,
    and ``settings`` as AUDITOR_<NAME> variables."""
    values = {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": SECRET_KEY,
        "AUDIT_SIGNING_KEY": SIGNING_KEY_PEM,
        "DISPOSITION_KEY": DISPOSITION_KEY,
        "MASTER_KEY": MASTER_KEY,
        "CHECK_KEYS_AT_START": "false",
        **settings,
    }
    return {**os.environ, **{f"AUDITOR_{name}": str(value) for name, value in values.items()}}
