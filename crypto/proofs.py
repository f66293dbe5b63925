"""RFC 9162 Merkle proofs (section 2.1.3 inclusion, 2.1.4 consistency) over a log too large to hold.

A proof is a list of subtree hashes, each the MTH of a range of leaves ``[lo, hi)``. Which ranges
depends only on the sizes and indices (``inclusion_ranges``, ``consistency_ranges``), so a prover
names the ranges first and then computes them all in one pass over the leaf hashes
(``RangeHasher``: O(log n) memory, whatever the size). ``RangeHasher`` can also start in the
middle of a tree: from a contiguous slice of leaves it gives every subtree wholly inside the
slice, which with the hashes of the subtrees outside it (the inclusion proofs of the slice's
first and last leaves) gives the root again (``slice_root``).

The verifiers follow the RFC's algorithms step by step, independently of the provers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crypto.merkle import EMPTY_ROOT, node_hash

Range = tuple[int, int]


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1)."""
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges of PATH(index, D[size]), leaf level first (the order of the proof)."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges of PROOF(old, D[new]) (empty when ``old`` is 0 or equals ``new``)."""
    if not 0 <= old <= new:
        raise ValueError("the old size must be between 0 and the new size")
    if old in (0, new):
        return []
    proof: list[Range] = []
    lo, hi, m, complete = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append((lo + k, hi))
            hi = lo + k
        else:
            proof.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append((lo, hi))
    return proof[::-1]


class RangeHasher:
    """Feed the leaf hashes from ``start`` on, in order; collects the MTH of each wanted range
    that lies wholly within what was fed. A range is a complete subtree (aligned, a power of two
    wide) or a tree's right edge ``[lo, size)``, which is folded when ``size`` leaves are in."""

    def __init__(self, wanted: Iterable[Range], start: int = 0) -> None:
        self.wanted = set(wanted)
        self.edges: dict[int, set[int]] = {}  # size -> the lo of the right edges wanted at it
        for lo, hi in self.wanted:
            self.edges.setdefault(hi, set()).add(lo)
        self.found: dict[Range, bytes] = {}
        self._stack: list[tuple[int, int, bytes]] = []  # (lo, width, hash), left to right
        self.size = start

    def add(self, leaf: bytes) -> None:
        lo, width, node = self.size, 1, leaf
        stack = self._stack
        while stack and stack[-1][1] == width and stack[-1][0] % (2 * width) == 0:
            left, _, left_hash = stack.pop()
            lo, width, node = left, width * 2, node_hash(left_hash, node)
            if (lo, lo + width) in self.wanted:
                self.found[(lo, lo + width)] = node
        stack.append((lo, width, node))
        self.size += 1
        if (self.size - 1, self.size) in self.wanted:
            self.found[(self.size - 1, self.size)] = leaf
        if self.size in self.edges:
            self._fold(self.edges[self.size])

    def _fold(self, starts: set[int]) -> None:
        node = None
        for lo, _width, value in reversed(self._stack):
            node = value if node is None else node_hash(value, node)
            if lo in starts:
                self.found[(lo, self.size)] = node

    def hashes(self, ranges: Iterable[Range]) -> list[bytes]:
        return [self.found[r] for r in ranges]


def proofs(
    leaves: Iterable[bytes], wanted: Iterable[Range], *, start: int = 0
) -> dict[Range, bytes]:
    """The MTH of every range in ``wanted``, from one pass over ``leaves``."""
    hasher = RangeHasher(wanted, start)
    for leaf in leaves:
        hasher.add(leaf)
    missing = hasher.wanted - hasher.found.keys()
    if missing:
        raise ValueError(f"ranges outside the leaves given: {sorted(missing)[:3]}")
    return hasher.found


# -- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----------------------------------------------
def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree (``size``,
    ``root``)."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """Whether ``proof`` shows the tree (``old``, ``old_root``) is a prefix of (``new``,
    ``new_root``)."""
    if old > new:
        return False
    if old == new:
        return old_root == new_root and not proof
    if old == 0:
        return old_root == EMPTY_ROOT and not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def slice_root(
    size: int, lo: int, hi: int, inside: Mapping[Range, bytes], outside: Mapping[Range, bytes]
) -> bytes | None:
    """The root of the tree of ``size`` leaves from the subtrees of a slice ``[lo, hi)``
    (``inside``: from ``RangeHasher`` started at ``lo``) and those outside it (``outside``:
    the inclusion proofs of leaves ``lo`` and ``hi - 1``); None when a subtree is missing."""

    def mth(a: int, b: int) -> bytes | None:
        if lo <= a and b <= hi:
            return inside.get((a, b))
        if b <= lo or a >= hi:
            return outside.get((a, b))
        k = _split(b - a)
        left, right = mth(a, a + k), mth(a + k, b)
        return None if left is None or right is None else node_hash(left, right)

    return mth(0, size) if size else EMPTY_ROOT


def slice_ranges(size: int, lo: int, hi: int) -> list[Range]:
    """The ranges wholly inside ``[lo, hi)`` that ``slice_root`` asks ``inside`` for."""
    found: list[Range] = []

    def walk(a: int, b: int) -> None:
        if lo <= a and b <= hi:
            found.append((a, b))
        elif a < hi and b > lo:
            k = _split(b - a)
            walk(a, a + k)
            walk(a + k, b)

    walk(0, size)
    return found
