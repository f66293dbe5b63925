"""Cryptography for the auditor: Merkle trees, signed notes (and, later, envelope encryption).

Depends only on the standard library and ``cryptography``; never on Flask, SQLAlchemy or auditor.
"""

from __future__ import annotations

from crypto.errors import CryptoError, SignatureInvalid
from crypto.merkle import leaf_hash, node_hash, tree_head
from crypto.note import Checkpoint, open_note, sign_note

__all__ = [
    "Checkpoint",
    "CryptoError",
    "SignatureInvalid",
    "leaf_hash",
    "node_hash",
    "open_note",
    "sign_note",
    "tree_head",
]
