"""Errors of the crypto package. Messages never contain keys, plaintext, or encodings of either."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by crypto/."""


class SignatureInvalid(CryptoError):
    """A signature did not verify, or a signed document is malformed."""


class DecryptionFailed(CryptoError):
    """Authenticated decryption failed: the wrong key, or a ciphertext altered or moved."""

    def __init__(
        self, message: str = "could not decrypt: wrong key, or the ciphertext was altered or moved"
    ) -> None:
        super().__init__(message)


class UnknownKeyVersion(CryptoError):
    """A ciphertext names a master or client key version that is not available."""


class MalformedCiphertext(CryptoError):
    """A blob is not in a format this code reads: bad magic, unknown version, wrong length."""


class KeyRingError(CryptoError):
    """A master key or key ring file is missing, unreadable, unsafe or malformed."""
