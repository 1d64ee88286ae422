"""The shared per-root read caches under the domain's py-evm state (domains/evm/state_cache.py)."""

import random

import pytest
from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.vm.interrupt import MissingAccountTrieNode

from domains.evm import state_cache
from domains.evm.recent import Recent
from domains.evm.state_cache import RootCachedAccountDB, RootKeyedReads


class CountingDB(AtomicDB):
    """An in-memory store that counts reads."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)


def address(i: int) -> bytes:
    return i.to_bytes(20, "big")


def test_root_keyed_reads_answer_per_root_and_replay_key_errors():
    roots = {"a": {b"k": b"1"}, "b": {b"k": b"2"}}
    current = ["a"]
    asked = []

    class Source:
        def __getitem__(self, key):
            asked.append((current[0], key))
            return roots[current[0]][key]

    view = RootKeyedReads(Source(), lambda: current[0], Recent(16))
    assert view[b"k"] == b"1" and view[b"k"] == b"1"
    current[0] = "b"
    assert view[b"k"] == b"2"
    for _ in range(2):
        with pytest.raises(KeyError):
            view[b"missing"]
    assert asked == [("a", b"k"), ("b", b"k"), ("b", b"missing")]


def random_ops(rng, count):
    ops = []
    for _ in range(count):
        kind = rng.choice(["balance", "nonce", "storage", "storage", "zero", "delete", "code", "root", "revert"])
        ops.append((kind, rng.randrange(6), rng.randrange(4), rng.randrange(1, 1 << 64)))
    return ops


def apply(db, op):
    kind, who, slot, value = op
    a = address(who + 1)
    if kind == "balance":
        db.set_balance(a, value)
    elif kind == "nonce":
        db.set_nonce(a, value % 1000)
    elif kind == "storage":
        db.set_storage(a, slot, value)
    elif kind == "zero":
        db.set_storage(a, slot, 0)
    elif kind == "delete":
        db.delete_storage(a)
    elif kind == "code":
        db.set_code(a, value.to_bytes(8, "big"))
    elif kind == "root":
        return db.make_state_root()
    elif kind == "revert":
        checkpoint = db.record()
        db.set_balance(a, value + 1)
        db.set_storage(a, slot, value + 2)
        db.discard(checkpoint)
    return None


def observe(db):
    return [(db.get_balance(address(i + 1)), db.get_nonce(address(i + 1)), db.get_code(address(i + 1)),
             [db.get_storage(address(i + 1), s) for s in range(4)]) for i in range(6)]


@pytest.mark.parametrize("seed", range(6))
def test_cached_account_db_behaves_as_py_evm_s(seed, monkeypatch):
    """The same operations give the same reads, roots and stored state as py-evm's AccountDB,
    also when later views reopen earlier roots (the shared cache is then warm).

    Stored state: py-evm's store holds some nodes of the roots made between persists (its
    pruning keeps part of each); ours holds none of them and is otherwise the same."""
    monkeypatch.setattr(state_cache, "ACCOUNT_READS", Recent(1 << 12))
    monkeypatch.setattr(state_cache, "STORAGE_READS", Recent(1 << 12))
    rng = random.Random(seed)
    plain_store, cached_store = AtomicDB(), AtomicDB()
    plain, cached = AccountDB(plain_store), RootCachedAccountDB(cached_store)
    roots = [BLANK_ROOT_HASH]
    between = []  # roots made by make_state_root between persists
    for step in range(8):
        for op in random_ops(rng, 25):
            made = apply(plain, op)
            assert made == apply(cached, op)
            assert observe(plain) == observe(cached)
            if made is not None:
                between.append(made)
        plain.persist()
        cached.persist()
        assert plain.state_root == cached.state_root
        roots.append(plain.state_root)
        # A fresh view of every earlier root answers as py-evm's does.
        for root in roots:
            assert observe(AccountDB(plain_store, root)) == observe(RootCachedAccountDB(cached_store, root))
        plain, cached = AccountDB(plain_store, plain.state_root), RootCachedAccountDB(cached_store, cached.state_root)
    ours, py_evm = cached_store.wrapped_db.kv_store, plain_store.wrapped_db.kv_store
    assert all(py_evm.get(key) == value for key, value in ours.items())
    extra = set(py_evm) - set(ours)
    assert not extra & state_cache.reachable_nodes(py_evm, roots)
    assert extra <= state_cache.reachable_nodes(py_evm, between)


def test_a_second_view_of_a_root_reads_nothing_from_the_store(monkeypatch):
    monkeypatch.setattr(state_cache, "ACCOUNT_READS", Recent(1 << 12))
    monkeypatch.setattr(state_cache, "STORAGE_READS", Recent(1 << 12))
    store = CountingDB()
    db = RootCachedAccountDB(store)
    for i in range(50):
        db.set_balance(address(i + 1), 10 + i)
        db.set_storage(address(i + 1), 1, 7 * i + 1)
    db.persist()
    root = db.state_root
    first = RootCachedAccountDB(store, root)
    expected = [(first.get_balance(address(i + 1)), first.get_storage(address(i + 1), 1)) for i in range(50)]
    assert expected == [(10 + i, 7 * i + 1) for i in range(50)]
    before = store.reads
    second = RootCachedAccountDB(store, root)
    assert [(second.get_balance(address(i + 1)), second.get_storage(address(i + 1), 1)) for i in range(50)] == expected
    assert store.reads == before
    # py-evm's own AccountDB walks the trie again for the same reads.
    AccountDB(store, root).get_balance(address(1))
    assert store.reads > before


def test_a_missing_trie_node_is_raised_not_cached(monkeypatch):
    monkeypatch.setattr(state_cache, "ACCOUNT_READS", Recent(1 << 12))
    source = AtomicDB()
    db = RootCachedAccountDB(source)
    db.set_balance(address(1), 5)
    db.persist()
    root = db.state_root
    node = source[root]
    empty = AtomicDB()
    with pytest.raises(MissingAccountTrieNode):
        RootCachedAccountDB(empty, root).get_balance(address(1))
    empty[root] = node
    assert RootCachedAccountDB(empty, root).get_balance(address(1)) == 5
