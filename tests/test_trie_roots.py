"""One-pass ordered trie roots against the trie package and py-evm: same roots, same nodes."""

from __future__ import annotations

import random

import pytest
from eth.db.trie import _make_trie_root_and_nodes
from trie import HexaryTrie

from chain import scale
from chain.block import extrinsics_root
from chain.trie_roots import ordered_trie_root_and_nodes, trie_root_and_nodes
from domains.bundles import bundle_extrinsics_root


def _items(rng: random.Random, n: int) -> tuple[bytes, ...]:
    return tuple(rng.randbytes(rng.choice([1, 2, 20, 31, 32, 33, 110, 600])) for _ in range(n))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1200])
def test_rlp_keyed_lists_match_py_evm_root_and_nodes(n):
    items = _items(random.Random(n), n)
    assert ordered_trie_root_and_nodes(items) == _make_trie_root_and_nodes(items)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 300, 16384, 16385])
def test_compact_keyed_lists_match_the_trie_package(n):
    items = _items(random.Random(n), n) if n < 1000 else tuple(i.to_bytes(3, "big") for i in range(1, n + 1))
    reference = HexaryTrie({})
    for index, item in enumerate(items):
        reference[scale.encode_compact(index)] = item
    assert ordered_trie_root_and_nodes(items, key=scale.encode_compact)[0] == reference.root_hash
    assert extrinsics_root(items) == reference.root_hash


def test_arbitrary_keys_including_prefixes_of_each_other_match_the_trie_package():
    rng = random.Random(7)
    for _ in range(200):
        entries = {rng.randbytes(rng.randint(0, 4)): rng.randbytes(rng.choice([1, 5, 40])) for _ in range(rng.randint(1, 40))}
        reference = HexaryTrie({})
        for key, value in entries.items():
            reference[key] = value
        root, nodes = trie_root_and_nodes(entries)
        assert root == reference.root_hash, entries
        rebuilt = HexaryTrie(nodes, root)  # every node a lookup needs is there
        assert all(rebuilt[key] == value for key, value in entries.items())


def test_an_empty_value_is_refused_and_a_bundle_skips_it_as_the_trie_does():
    with pytest.raises(ValueError, match="empty value at key 0x01"):
        trie_root_and_nodes({b"\x01": b""})
    with pytest.raises(ValueError, match="extrinsic 1 is empty"):
        extrinsics_root([b"a", b""])
    reference = HexaryTrie({})
    reference[b"\x80"] = b"tx0"
    reference[b"\x01"] = b""
    assert bundle_extrinsics_root([b"tx0", b""]) == reference.root_hash


def test_py_evm_computes_block_roots_with_the_one_pass_builder():
    """Loading the domain chain makes py-evm's block filling, validation and storage use it."""
    import eth.db.chain
    import eth.vm.base

    import domains.evm.chain  # noqa: F401  (installs it)
    from eth.db.trie import make_trie_root_and_nodes as py_evm_original

    class Item:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def encode(self) -> bytes:
            return self.data

    items = [Item(b) for b in _items(random.Random(3), 300)]
    for module in (eth.vm.base, eth.db.chain):
        assert module.make_trie_root_and_nodes is not py_evm_original
        assert module.make_trie_root_and_nodes(items) == py_evm_original(items)
