"""The audit signing key of the running app, loaded once from the configuration."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from auditor.config import ConfigError
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
    return key  # type: ignore[no-any-return]


def audit_public_key() -> Ed25519PublicKey | None:
    if not current_app.config.get("AUDIT_SIGNING_KEY"):
        return None
    return audit_signing_key().public_key()


def audit_origin() -> str:
    return str(current_app.config["AUDIT_LOG_ORIGIN"])
