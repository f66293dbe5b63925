"""The credentials vault: client secrets sealed under envelope encryption, reached per client,
every reveal audited; the keys behind them; the hand-over and purge at termination (R16).

- ``store``: secrets (create, read, list, update, delete, reveal) and technicians' client grants.
- ``bulk``, ``importer``: many secrets at once; the CSV exports of common password managers.
- ``keys``, ``status``, ``rotation``, ``client_rotation``: master-key canaries and client key
  versions, the key status report, master and client key rotation (docs/crypto-format.md).
- ``handover``, ``purge``: the KDBX hand-over with its acknowledgement, then the crypto-shred.
- ``reveal_report``: what a departing technician revealed that has not changed since.
"""

from __future__ import annotations

from auditor.services.vault.bulk import store_many
from auditor.services.vault.client_rotation import plan_client_rotation, rotate_client
from auditor.services.vault.handover import (
    export_handover,
    handover_out,
    record_acknowledgement,
)
from auditor.services.vault.importer import ImportResult, import_csv
from auditor.services.vault.keys import KeyCheckFailed, check_master_keys
from auditor.services.vault.purge import purge_readiness
from auditor.services.vault.reveal_report import revealed_unchanged
from auditor.services.vault.rotation import (
    DEFAULT_BATCH,
    retire_master,
    rewrap_client_keys,
    rotate_master,
)
from auditor.services.vault.status import client_keys_by_master, key_status
from auditor.services.vault.store import (
    create_secret,
    delete_secret,
    grant,
    grants_of,
    list_secrets,
    read_secret,
    reveal_secret,
    revoke_grant,
    secret_out,
    update_secret,
)

__all__ = [
    "DEFAULT_BATCH",
    "ImportResult",
    "KeyCheckFailed",
    "check_master_keys",
    "client_keys_by_master",
    "create_secret",
    "delete_secret",
    "export_handover",
    "grant",
    "grants_of",
    "handover_out",
    "import_csv",
    "key_status",
    "list_secrets",
    "plan_client_rotation",
    "purge_readiness",
    "read_secret",
    "record_acknowledgement",
    "retire_master",
    "reveal_secret",
    "revealed_unchanged",
    "revoke_grant",
    "rewrap_client_keys",
    "rotate_client",
    "rotate_master",
    "secret_out",
    "store_many",
    "update_secret",
]
