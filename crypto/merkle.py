"""RFC 6962 Merkle tree hashing: leaf and node hashes, and the tree head of a sequence of leaves."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


class TreeBuilder:
    """Computes the RFC 6962 tree head incrementally, in O(log n) memory.

    The stack holds the roots of the perfect subtrees covering the leaves so far, largest first;
    folding it from the right gives MTH(D[n]) exactly as the RFC's recursive definition does.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append_leaf_hash(self, digest: bytes) -> None:
        height, node = 0, digest
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            node = node_hash(left, node)
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def tree_head(leaf_hashes: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, root) of the tree whose leaves have these hashes, in order."""
    builder = TreeBuilder()
    for digest in leaf_hashes:
        builder.append_leaf_hash(digest)
    return builder.size, builder.root()


def reference_root(leaf_hashes: list[bytes]) -> bytes:
    """The RFC's recursive definition: the specification the fast version is tested against."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))
