"""The keys of the running app, loaded once from its configuration: the audit signing key and
the vault's master key ring."""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy.orm import Session

from auditor.config import ConfigError
from crypto.digest import parse_digest_key
from crypto.errors import KeyRingError
from crypto.keys import MasterKeyRing, read_key_ring_file, ring_from_base64
from crypto.note import load_private_key


def audit_signing_key() -> Ed25519PrivateKey:
    key = current_app.extensions.get("auditor.signing_key")
    if key is None:
        pem = current_app.config.get("AUDIT_SIGNING_KEY")
        if not pem:
            raise ConfigError(
                "No audit signing key is configured (AUDITOR_AUDIT_SIGNING_KEY_FILE)."
            )
        key = current_app.extensions["auditor.signing_key"] = load_private_key(pem)
    return key


def disposition_key() -> bytes:
    """The key of the keyed digests in disposition records (R20)."""
    key = current_app.extensions.get("auditor.disposition_key")
    if key is None:
        text = current_app.config.get("DISPOSITION_KEY")
        if not text:
            raise ConfigError(
                "No disposition digest key is configured (AUDITOR_DISPOSITION_KEY_FILE)."
            )
        key = current_app.extensions["auditor.disposition_key"] = parse_digest_key(text)
    return key


def audit_public_key() -> Ed25519PublicKey | None:
    if not current_app.config.get("AUDIT_SIGNING_KEY"):
        return None
    return audit_signing_key().public_key()


def audit_origin() -> str:
    return str(current_app.config["AUDIT_LOG_ORIGIN"])


def master_key_ring() -> MasterKeyRing:
    """The vault's master keys; a ConfigError (service refuses to work) when none is configured.

    A key ring file is re-read when it changes, so `auditor keys rotate` takes effect in a running
    service without a restart (the new version is then current for new wraps)."""
    stamp = _ring_file_stamp(current_app.config)
    cached = current_app.extensions.get("auditor.master_ring")
    if cached is None or cached[0] != stamp:
        cached = current_app.extensions["auditor.master_ring"] = (
            stamp,
            load_ring(current_app.config),
        )
    ring: MasterKeyRing = cached[1]
    return ring


def _ring_file_stamp(config: Any) -> tuple[int, int] | None:
    path = config.get("MASTER_KEY_FILE")
    if not path or config.get("MASTER_KEY"):
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def load_ring(config: Any) -> MasterKeyRing:
    try:
        if config.get("MASTER_KEY"):
            return ring_from_base64(config["MASTER_KEY"])
        if config.get("MASTER_KEY_FILE"):
            return read_key_ring_file(config["MASTER_KEY_FILE"])
    except KeyRingError as exc:
        raise ConfigError(str(exc)) from None
    raise ConfigError("No vault master key is configured (AUDITOR_MASTER_KEY or _FILE).")


def refuse_wrong_master_keys(session: Session, config: Any) -> None:
    """The start-up check: a ConfigError (the service stops) unless every key matches its canary."""
    from auditor.services.vault import KeyCheckFailed, check_master_keys

    try:
        check_master_keys(session, load_ring(config))
    except KeyCheckFailed as exc:
        raise ConfigError(f"vault master key check failed: {exc}") from None
