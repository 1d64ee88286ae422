"""The store: atomic durable batches, prefix iteration, kill -9 safety, clear errors."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from chain.store import KVStore, StoreCorrupted, StoreError

WRITER = textwrap.dedent("""
    import sys
    from chain.store import KVStore
    store = KVStore(sys.argv[1])
    start = int.from_bytes(store.get(b"head") or b"\\0", "big") + 1
    for batch in range(start, start + 100000):
        writes = {b"k%06d-%04d" % (batch, i): batch.to_bytes(4, "big") * 50 for i in range(200)}
        writes[b"head"] = batch.to_bytes(4, "big")
        store.write_batch(writes)
        print(batch, flush=True)
""")


def test_batches_reads_deletes_and_prefix_iteration(tmp_path):
    store = KVStore(tmp_path / "s")
    store.write_batch({b"a:1": b"x", b"a:2": b"y", b"b:1": b"z", b"a\xff": b"w"})
    assert store.get(b"a:1") == b"x" and store.get(b"missing") is None
    assert [k for k, _ in store.iterate(b"a:")] == [b"a:1", b"a:2"]
    assert [k for k, _ in store.iterate(b"a:", reverse=True)] == [b"a:2", b"a:1"]
    assert [k for k, _ in store.iterate(b"a", reverse=True)] == [b"a\xff", b"a:2", b"a:1"]
    store.write_batch({b"a:1": None, b"c": b"1"})
    assert store.get(b"a:1") is None and store.exists(b"c")
    store.close()
    reopened = KVStore(tmp_path / "s")
    assert reopened.get(b"b:1") == b"z"
    reopened.close()
    with pytest.raises(StoreError, match="closed"):
        reopened.put(b"k", b"v")


def test_readonly_open_of_missing_store_names_the_path(tmp_path):
    with pytest.raises(StoreError, match=str(tmp_path / "none")):
        KVStore(tmp_path / "none", readonly=True)


def test_truncated_or_empty_files_are_refused_by_name(tmp_path):
    """LMDB maps the file: a page past a truncated file's end is a SIGBUS that kills the
    process with no message. The store checks the length its meta page promises first."""
    store = KVStore(tmp_path / "s")
    store.write_batch({i.to_bytes(4, "big"): os.urandom(900) for i in range(2_000)})
    store.close()
    data = tmp_path / "s" / "data.mdb"
    size = data.stat().st_size
    for cut in (size // 2, size - 4096):
        os.truncate(data, cut)
        with pytest.raises(StoreCorrupted, match=f"{data} is truncated: {cut:,} bytes"):
            KVStore(tmp_path / "s")
    os.truncate(data, 0)
    with pytest.raises(StoreCorrupted, match=f"{data} is empty"):
        KVStore(tmp_path / "s")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=f"cannot create the store directory {tmp_path / 'file'}"):
        KVStore(tmp_path / "file")
    fresh = KVStore(tmp_path / "fresh")  # a new store is not mistaken for a truncated one
    fresh.put(b"k", b"v")
    fresh.close()
    assert KVStore(tmp_path / "fresh").get(b"k") == b"v"


def test_kill_9_never_loses_or_tears_a_committed_batch(tmp_path):
    """A writer is SIGKILLed at random moments; every batch it reported committed must be
    whole after reopening, no batch may be partly there, and `head` names the last whole one."""
    path = tmp_path / "crash"
    rng = random.Random(1234)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    for trial in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=env)
        reported = 0
        deadline = rng.uniform(0.05, 0.4)
        started = None
        while True:
            line = proc.stdout.readline()
            if not line:
                break
            reported = int(line)
            started = started or time.monotonic()
            if time.monotonic() - started > deadline:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        store = KVStore(path)
        head = int.from_bytes(store.get(b"head"), "big")
        assert head >= reported, f"trial {trial}: batch {reported} was reported committed, head is {head}"
        counts: dict[int, int] = {}
        for key, _ in store.iterate(b"k"):
            batch = int(key[1:7])
            counts[batch] = counts.get(batch, 0) + 1
        torn = {b: c for b, c in counts.items() if c != 200}
        assert not torn, f"trial {trial}: partly written batches {torn}"
        assert max(counts) == head and sorted(counts) == list(range(1, head + 1))
        store.close()
