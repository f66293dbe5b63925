"""Settings: precedence, *_FILE secrets, and check() refusing unsafe production values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor import config, create_app


def test_precedence_defaults_environment_overrides():
    env = {"AUDITOR_PAGE_SIZE": "20", "AUDITOR_PAN_POLICY": "reject"}
    settings = config.load({"PAGE_SIZE": 7}, environ=env)
    assert settings["PAGE_SIZE"] == 7
    assert settings["PAN_POLICY"] == "reject"
    assert settings["MAX_PAGE_SIZE"] == 500


def test_booleans_and_integers_are_parsed_or_refused():
    assert config.load(environ={"AUDITOR_LOG_JSON": "false"})["LOG_JSON"] is False
    with pytest.raises(config.ConfigError, match="AUDITOR_PAGE_SIZE must be an integer"):
        config.load(environ={"AUDITOR_PAGE_SIZE": "many"})
    with pytest.raises(config.ConfigError, match="true or false"):
        config.load(environ={"AUDITOR_DEBUG": "perhaps"})


def test_secret_comes_from_a_private_file(tmp_path: Path):
    secret = tmp_path / "key"
    secret.write_text("s" * 40 + "\n")
    os.chmod(secret, 0o600)
    settings = config.load(environ={"AUDITOR_SECRET_KEY_FILE": str(secret)})
    assert settings["SECRET_KEY"] == "s" * 40


def test_secret_file_readable_by_others_is_refused(tmp_path: Path):
    secret = tmp_path / "key"
    secret.write_text("s" * 40)
    os.chmod(secret, 0o644)
    with pytest.raises(config.ConfigError) as exc:
        config.load(environ={"AUDITOR_SECRET_KEY_FILE": str(secret)})
    assert "readable by group or others" in str(exc.value)
    assert "s" * 40 not in str(exc.value)


@pytest.mark.parametrize("key", [None, config.DEV_SECRET_KEY, "short"])
def test_check_refuses_weak_secret_key_in_production(key):
    with pytest.raises(config.ConfigError, match="AUDITOR_SECRET_KEY"):
        config.check(
            {
                "SECRET_KEY": key,
                "AUDIT_SIGNING_KEY": "pem",
                "DISPOSITION_KEY": "d",
                "MASTER_KEY": "k",
                "PAN_POLICY": "redact",
            }
        )


def test_check_refuses_missing_signing_key_in_production():
    with pytest.raises(config.ConfigError, match="AUDITOR_AUDIT_SIGNING_KEY_FILE"):
        config.check(
            {
                "SECRET_KEY": "k" * 40,
                "AUDIT_SIGNING_KEY": None,
                "DISPOSITION_KEY": "d",
                "MASTER_KEY": "k",
                "PAN_POLICY": "redact",
            }
        )


def test_check_refuses_a_missing_or_doubled_master_key_in_production():
    base = {
        "SECRET_KEY": "k" * 40,
        "AUDIT_SIGNING_KEY": "pem",
        "DISPOSITION_KEY": "d",
        "PAN_POLICY": "redact",
    }
    with pytest.raises(config.ConfigError, match="AUDITOR_MASTER_KEY or AUDITOR_MASTER_KEY_FILE"):
        config.check(base)
    with pytest.raises(config.ConfigError, match="not both"):
        config.check({**base, "MASTER_KEY": "a", "MASTER_KEY_FILE": "/x"})
    config.check({**base, "MASTER_KEY_FILE": "/etc/auditor/master-keys"})


def test_check_refuses_a_missing_disposition_key_in_production():
    with pytest.raises(config.ConfigError, match="AUDITOR_DISPOSITION_KEY_FILE"):
        config.check(
            {
                "SECRET_KEY": "k" * 40,
                "AUDIT_SIGNING_KEY": "pem",
                "MASTER_KEY": "k",
                "PAN_POLICY": "redact",
            }
        )


def test_disposition_key_may_come_from_a_private_file(tmp_path: Path):
    key_file = tmp_path / "disposition-key"
    key_file.write_text("a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleTA=\n")
    os.chmod(key_file, 0o600)
    settings = config.load(environ={"AUDITOR_DISPOSITION_KEY_FILE": str(key_file)})
    assert settings["DISPOSITION_KEY"] == "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleTA="


def test_check_refuses_unknown_pan_policy_even_in_testing():
    with pytest.raises(config.ConfigError, match="PAN_POLICY"):
        config.check({"TESTING": True, "PAN_POLICY": "keep"})


def test_create_app_refuses_to_start_unsafe(tmp_path: Path):
    with pytest.raises(config.ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": None, "TESTING": False})


def test_the_suite_reads_neither_the_developers_instance_folder_nor_their_settings(
    isolated_environment: Path, database_url: str
):
    """``make run`` writes secrets into ./instance; a test app must not pick them up."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "CHECK_KEYS_AT_START": False})
    assert Path(app.instance_path) == isolated_environment
    assert list(isolated_environment.iterdir()) == []
    assert app.config["AUDIT_SIGNING_KEY"] is None and app.config["MASTER_KEY_FILE"] is None
    leaked = {k for k in os.environ if k.startswith("AUDITOR_")} - {
        "AUDITOR_INSTANCE_PATH",
        "AUDITOR_TEST_DATABASE_URL",
    }
    assert leaked == set()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus_Mons", "AUDITOR_TIMEZONE must be an IANA time zone name"),
        ("SESSION_IDLE_MINUTES", 0, "AUDITOR_SESSION_IDLE_MINUTES must be at least 1"),
        ("TRUSTED_PROXIES", -1, "AUDITOR_TRUSTED_PROXIES must be 0 or more"),
    ],
)
def test_check_refuses_a_bad_web_setting(name, value, message):
    settings = config.load({"TESTING": True, name: value}, environ={})
    with pytest.raises(config.ConfigError, match=message):
        config.check(settings)
