"""Errors of the crypto package. Messages never contain keys or plaintext."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by crypto/."""


class SignatureInvalid(CryptoError):
    """A signature did not verify, or a signed document is malformed."""
