"""The test run's throwaway secrets, shared by the app, direct service calls and child processes."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto.keys import MasterKeyRing, ring_from_base64
from crypto.note import generate_private_key_pem, load_private_key

SIGNING_KEY_PEM = generate_private_key_pem().decode()  # a new audit signing key per run
SECRET_KEY = "test-secret-key-" + "x" * 32
DISPOSITION_KEY = "ZGlzcG9zaXRpb24ta2V5LWZvci10ZXN0cy0wMDAwMDA="  # 32 bytes, tests only
DIGEST_KEY = base64.b64decode(DISPOSITION_KEY)  # what the purge's keyed digests use
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LWZvci10aGUtdGVzdC1ydW4="  # 32 bytes, base64; tests only
ORIGIN = "auditor.local/audit-log"  # the default AUDITOR_AUDIT_LOG_ORIGIN


def keyring() -> MasterKeyRing:
    """The vault master key ring of the test app (one version), as the services take it."""
    return ring_from_base64(MASTER_KEY)


def signing_key() -> Ed25519PrivateKey:
    return load_private_key(SIGNING_KEY_PEM)


def signing(*, origin: str = ORIGIN) -> dict[str, Any]:
    """The keyword arguments an export needs to sign a checkpoint (the test run's key)."""
    return {"signing_key": signing_key(), "origin": origin}
