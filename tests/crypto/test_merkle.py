"""RFC 6962 tree hashing: the incremental TreeBuilder against the RFC's recursive definition."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import merkle

# The certificate-transparency reference test vectors (kSHA256Roots in the C++ implementation,
# testonly.RootHashes() in Go's transparency-dev/merkle): MTH of the first n of these inputs.
CT_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_leaf_hash_prefixes_a_zero_byte():
    assert merkle.leaf_hash(b"entry") == hashlib.sha256(b"\x00entry").digest()


def test_node_hash_prefixes_a_one_byte():
    left, right = b"L" * 32, b"R" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_empty_tree_root_is_sha256_of_the_empty_string():
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert merkle.tree_head([]) == (0, hashlib.sha256(b"").digest())
    assert merkle.reference_root([]) == merkle.EMPTY_ROOT
    assert merkle.TreeBuilder().root() == merkle.EMPTY_ROOT


def test_one_leaf_tree_root_is_the_leaf_hash():
    (leaf,) = leaves(1)
    assert merkle.tree_head([leaf]) == (1, leaf)
    assert merkle.reference_root([leaf]) == leaf


def test_three_leaf_tree_splits_after_the_largest_power_of_two():
    a, b, c = leaves(3)
    expected = merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.reference_root([a, b, c]) == expected
    assert merkle.tree_head([a, b, c]) == (3, expected)


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_tree_head_matches_certificate_transparency_vectors(size):
    hashes = [merkle.leaf_hash(data) for data in CT_INPUTS[:size]]
    assert merkle.tree_head(hashes) == (size, bytes.fromhex(CT_ROOTS[size]))
    assert merkle.reference_root(hashes).hex() == CT_ROOTS[size]


@pytest.mark.parametrize("size", range(71))
def test_tree_builder_matches_reference_root(size):
    hashes = leaves(size)
    builder = merkle.TreeBuilder()
    for digest in hashes:
        builder.append_leaf_hash(digest)
    assert builder.size == size
    assert builder.root() == merkle.reference_root(hashes)


def test_tree_builder_root_after_every_append_matches_each_prefix():
    hashes = leaves(70)
    builder = merkle.TreeBuilder()
    for n, digest in enumerate(hashes, start=1):
        builder.append_leaf_hash(digest)
        assert builder.root() == merkle.reference_root(hashes[:n]), n


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=70))
def test_tree_head_matches_reference_root_for_any_leaves(hashes):
    assert merkle.tree_head(hashes) == (len(hashes), merkle.reference_root(hashes))


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=40), st.data())
def test_changing_or_swapping_a_leaf_changes_the_root(hashes, data):
    root = merkle.reference_root(hashes)
    i = data.draw(st.integers(0, len(hashes) - 1))
    changed = list(hashes)
    changed[i] = hashlib.sha256(hashes[i]).digest()
    assert merkle.tree_head(changed)[1] != root
    j = data.draw(st.integers(0, len(hashes) - 1))
    swapped = list(hashes)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert (merkle.tree_head(swapped)[1] == root) == (hashes[i] == hashes[j])
