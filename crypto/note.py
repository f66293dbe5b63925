"""C2SP signed notes with Ed25519 (c2sp.org/signed-note) and tlog checkpoints."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import SignatureInvalid

ED25519_TYPE = b"\x01"
EM_DASH = "\u2014"


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    """SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key_bytes(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The vkey string Go's note package reads: <name>+<hex key id>+<base64(0x01 || public key)>."""
    encoded = base64.b64encode(ED25519_TYPE + public_key_bytes(key)).decode()
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise ValueError("note key name must be non-empty, without spaces or '+'")


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """A signed note: the text (ending in a newline), a blank line, one signature line."""
    _check_name(name)
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_id(name, key.public_key()) + signature).decode()
    return f"{text}\n{EM_DASH} {name} {blob}\n"


def open_note(note: str, name: str, key: Ed25519PublicKey) -> str:
    """Verify a note signed by (name, key) and return its text; raise SignatureInvalid otherwise."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise SignatureInvalid("malformed note: no blank line before the signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    wanted_id = key_id(name, key)
    verified = False
    for line in signature_block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise SignatureInvalid("malformed note: bad signature line")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise SignatureInvalid("malformed note: signature is not base64") from None
        if parts[1] != name or blob[:4] != wanted_id:
            continue  # a signature by another key: ignored, as the spec requires
        try:
            key.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise SignatureInvalid("note signature does not verify") from None
        verified = True
    if not verified:
        raise SignatureInvalid("note carries no signature by the expected key")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """The body of a tlog checkpoint: origin, tree size, root hash, and extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
            raise SignatureInvalid("malformed checkpoint body")
        try:
            size = int(lines[1])
            root = base64.b64decode(lines[2], validate=True)
        except ValueError:
            raise SignatureInvalid("malformed checkpoint size or root") from None
        if size < 0 or len(root) != 32 or str(size) != lines[1]:
            raise SignatureInvalid("malformed checkpoint size or root")
        return cls(lines[0], size, root, tuple(lines[3:-1]))


def load_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SignatureInvalid("the signing key is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureInvalid("the signing key is not an Ed25519 key")
    return key


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
