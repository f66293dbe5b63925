"""Values sealed directly under the master key ring ("AUM"): a TOTP secret opens only for its
purpose and owner, under the version it names; altered, moved or malformed blobs are refused."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import master_sealed
from crypto.errors import DecryptionFailed, MalformedCiphertext, UnknownKeyVersion
from crypto.keys import MasterKeyRing

MASTER_1 = bytes(range(32))
MASTER_2 = bytes(range(64, 96))
SECRET = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def ring() -> MasterKeyRing:
    return MasterKeyRing({1: MASTER_1}, current=1)


def test_a_sealed_value_opens_for_its_purpose_and_owner_only(ring):
    blob = master_sealed.seal(ring, SECRET, purpose="totp", owner="user:7")
    assert master_sealed.unseal(ring, blob, purpose="totp", owner="user:7") == SECRET
    assert SECRET not in blob
    for purpose, owner in [("totp", "user:8"), ("other", "user:7")]:
        with pytest.raises(DecryptionFailed, match="wrong key, or the ciphertext was altered"):
            master_sealed.unseal(ring, blob, purpose=purpose, owner=owner)


def test_the_layout_is_magic_version_master_version_nonce_then_aes_gcm(ring):
    blob = master_sealed.seal(ring, SECRET, purpose="totp", owner="user:7")
    magic, version, master_version, nonce = struct.unpack_from(">3sBI12s", blob)
    assert (magic, version, master_version, len(blob)) == (b"AUM", 1, 1, 20 + len(SECRET) + 16)
    aad = blob[:8] + struct.pack(">H", 4) + b"totp" + struct.pack(">H", 6) + b"user:7"
    assert AESGCM(MASTER_1).decrypt(nonce, blob[20:], aad) == SECRET  # as section 15 says


def test_an_altered_blob_or_a_wrong_key_is_refused(ring):
    blob = bytearray(master_sealed.seal(ring, SECRET, purpose="totp", owner="user:7"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        master_sealed.unseal(ring, bytes(blob), purpose="totp", owner="user:7")
    good = master_sealed.seal(ring, SECRET, purpose="totp", owner="user:7")
    other = MasterKeyRing({1: MASTER_2}, current=1)
    with pytest.raises(DecryptionFailed):
        master_sealed.unseal(other, good, purpose="totp", owner="user:7")
    with pytest.raises(UnknownKeyVersion):
        master_sealed.unseal(
            MasterKeyRing({2: MASTER_2}, current=2), good, purpose="totp", owner="user:7"
        )


@pytest.mark.parametrize(
    "blob",
    [
        b"AUS\x01" + bytes(40),
        b"AUM\x02" + bytes(40),
        b"AUM\x01" + bytes(10),
        b"AUM\x01" + bytes(2000),
        b"AUM\x01\x00\x00\x00\x00" + bytes(40),
    ],
)
def test_a_malformed_blob_is_refused_before_any_key_is_used(ring, blob):
    with pytest.raises(MalformedCiphertext):
        master_sealed.unseal(ring, blob, purpose="totp", owner="user:7")


def test_reseal_moves_the_value_to_the_current_version_with_a_fresh_nonce(ring):
    blob = master_sealed.seal(ring, SECRET, purpose="totp", owner="user:7")
    rotated = ring.add_version(MASTER_2)
    again = master_sealed.reseal(rotated, blob, purpose="totp", owner="user:7")
    assert master_sealed.master_version_of(again) == 2 and again[8:20] != blob[8:20]
    later = rotated.drop_version(1)
    assert master_sealed.unseal(later, again, purpose="totp", owner="user:7") == SECRET


def test_a_value_too_large_for_the_format_is_refused(ring):
    with pytest.raises(ValueError, match="at most 1024 bytes"):
        master_sealed.seal(ring, bytes(1025), purpose="totp", owner="user:7")
