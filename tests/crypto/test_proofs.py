"""RFC 9162 inclusion and consistency proofs: provers against the RFC's recursive definitions,
verifiers against tampering, and a slice's root from its leaves and two boundary proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import proofs
from crypto.merkle import leaf_hash, reference_root


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"event {i}".encode()) for i in range(n)]


def mth(hashes: list[bytes]) -> bytes:
    return reference_root(hashes)


def reference_path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1, literally."""
    n = len(d)
    if n == 1:
        return []
    k = proofs._split(n)
    if m < k:
        return [*reference_path(m, d[:k]), mth(d[k:])]
    return [*reference_path(m - k, d[k:]), mth(d[:k])]


def reference_subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1, literally."""
    n = len(d)
    if m == n:
        return [] if complete else [mth(d)]
    k = proofs._split(n)
    if m <= k:
        return [*reference_subproof(m, d[:k], complete), mth(d[k:])]
    return [*reference_subproof(m - k, d[k:], False), mth(d[:k])]


def prove(d: list[bytes], ranges: list[proofs.Range]) -> list[bytes]:
    return [proofs.proofs(d, ranges)[r] for r in ranges] if ranges else []


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_proofs_are_the_rfc_paths_and_verify(case):
    n, m = case
    d = leaves(n)
    path = prove(d, proofs.inclusion_ranges(m, n))
    assert path == reference_path(m, d)
    root = mth(d)
    assert proofs.verify_inclusion(m, n, d[m], path, root)
    assert not proofs.verify_inclusion(m, n, leaf_hash(b"other"), path, root)
    if path:
        bad = [*path[:-1], hashlib.sha256(path[-1]).digest()]
        assert not proofs.verify_inclusion(m, n, d[m], bad, root)
        assert not proofs.verify_inclusion(m, n, d[m], path[:-1], root)  # truncated


@given(st.integers(1, 70).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_consistency_proofs_are_the_rfc_proofs_and_verify(case):
    old, new = case
    d = leaves(new)
    proof = prove(d, proofs.consistency_ranges(old, new))
    assert proof == (reference_subproof(old, d, True) if old < new else [])
    assert proofs.verify_consistency(old, new, mth(d[:old]), mth(d), proof)
    if old < new:
        # a rewritten history: the old root is not a prefix of the new tree
        assert not proofs.verify_consistency(old, new, leaf_hash(b"forged"), mth(d), proof)
        other = leaves(new)
        other[old - 1] = leaf_hash(b"edited")
        assert not proofs.verify_consistency(old, new, mth(d[:old]), mth(other), proof)


@given(
    st.integers(1, 70).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1)).flatmap(
            lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(t[1] + 1, t[0]))
        )
    )
)
def test_a_slice_and_its_boundary_proofs_give_the_root(case):
    n, lo, hi = case
    d = leaves(n)
    ranges = proofs.inclusion_ranges(lo, n) + proofs.inclusion_ranges(hi - 1, n)
    known = proofs.proofs(d, ranges)
    outside = {r: h for r, h in known.items() if r[1] <= lo or r[0] >= hi}
    inside = proofs.proofs(d[lo:hi], proofs.slice_ranges(n, lo, hi), start=lo)
    assert proofs.slice_root(n, lo, hi, inside, outside) == mth(d)
    edited = list(d[lo:hi])
    edited[0] = leaf_hash(b"edited")
    changed = proofs.proofs(edited, proofs.slice_ranges(n, lo, hi), start=lo)
    assert proofs.slice_root(n, lo, hi, changed, outside) != mth(d)


def test_one_pass_serves_many_tree_sizes():
    d = leaves(1000)
    wanted = proofs.consistency_ranges(300, 777) + proofs.inclusion_ranges(5, 1000)
    found = proofs.proofs(d, wanted)
    assert [found[r] for r in proofs.consistency_ranges(300, 777)] == reference_subproof(
        300, d[:777], True
    )


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        proofs.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        proofs.consistency_ranges(6, 5)
    with pytest.raises(ValueError, match="outside"):
        proofs.proofs(leaves(3), [(0, 4)])
    assert not proofs.verify_inclusion(3, 3, leaves(1)[0], [], b"")
    assert not proofs.verify_consistency(4, 3, b"", b"", [])
