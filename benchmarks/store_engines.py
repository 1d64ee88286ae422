"""Embedded key-value engines for the node's store, measured on a chain-shaped workload.

Candidates: LMDB (`lmdb`), RocksDB (`rocksdict`), LevelDB (`plyvel`) and SQLite (stdlib
`sqlite3`, WAL mode). An engine whose Python package is not installed is skipped with a
message. Every engine is used the way the node would use it: one block's writes are one
native transaction / write batch.

Measured for each engine, in one run:

- writes: batches of 1,000 writes shaped like a block (trie nodes under 32-byte keys with
  70-600-byte values, a header, body and receipts blob, transaction-index entries, the
  canonical-number index and the head pointer), >= 200k writes in total, once with a
  durable commit per batch (fsync) and once without, each into a fresh database, best of
  three runs (the machine may be shared). Reported: writes/s, commit latency, and the bytes
  the process passed to write system calls during the durable run, background threads
  included (Linux `/proc/self/io` `wchar`: the engine's own write volume, before the file
  system and the device);
- reads: random point reads of the written trie-node keys on a warm database (best of two
  passes after a warm-up pass), both in the engine's tightest loop (for LMDB: one read
  transaction for all reads) and one request at a time (for LMDB: one read transaction
  per read, as a request handler would do);
- open: time to open the existing database and serve its first read (first and median);
- footprint: bytes on disk after the writes (allocated blocks and apparent file sizes);
- crash test: a child process commits numbered batches (N keys carrying the batch number,
  plus a "head" key, in one durable commit) and reports each batch number on a pipe only
  after its commit returned; the parent kills it with SIGKILL at a random moment, reopens
  the database and checks (a) every reported batch is whole, (b) no batch is partly there,
  (c) the head key equals the highest whole batch (and the whole batches are exactly
  1..head). The database is kept from trial to trial, so later trials also run on a
  database that already went through crash recovery.

A negative control, `lmdb-per-key`, commits each write of a batch in its own transaction.
It must show violations: if it does not, the crash test could not see a torn batch.
`lmdb-writemap` (LMDB with MDB_WRITEMAP, whose data file is a sparse file of the full map
size) is available with `--engines` but not measured by default.

Note: SIGKILL kills the process, not the machine. Data that reached the kernel survives it
even without fsync, so the crash test checks atomicity and recovery of committed batches,
not durability against power loss (that is what the fsync per commit pays for).

Run `python benchmarks/store_engines.py [--quick] [--json FILE] [--engines a,b] [--dir D]`.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

KVItem = tuple[bytes, bytes]

#: Writes per batch (one block's commit) in the throughput runs.
BATCH_SIZE = 1_000
#: Cache given to every engine that has one of its own (LMDB uses the OS page cache).
CACHE_BYTES = 64 << 20
#: LMDB's map size: a reservation of address space, as in `chain/store.py`.
LMDB_MAP_SIZE = 1 << 40
#: Transaction-index entries per block batch of the write workload.
TX_INDEX_PER_BATCH = 20

#: Crash-test key layout: b"c" + batch number (8 bytes) + index in batch (4 bytes).
CRASH_PREFIX = b"c"
CRASH_HEAD_KEY = b"head"
_CRASH_FILLER = random.Random(0x5EED).randbytes(8_192)


class BenchmarkError(Exception):
    """The benchmark could not run as designed (not a measured engine failure)."""


# -- engines ---------------------------------------------------------------------------------


class Store(ABC):
    """One open database of one engine, with the operations the benchmark measures."""

    @abstractmethod
    def write_batch(self, items: Sequence[KVItem]) -> None:
        """Commit all `items` in one native transaction / write batch."""

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """Read one committed value the way a request handler would (None if absent)."""

    @abstractmethod
    def read_all(self, keys: Sequence[bytes]) -> int:
        """Read every key in the engine's tightest loop; return how many were found."""

    @abstractmethod
    def scan(self, prefix: bytes) -> Iterator[KVItem]:
        """All (key, value) pairs whose key starts with `prefix`, in key order."""

    @abstractmethod
    def close(self) -> None:
        """Close the database (its files stay)."""


class Engine(ABC):
    """A candidate engine: how to find it and how to open a database with it."""

    #: Short name used on the command line and in the table.
    name: str
    #: The Python module that must be importable.
    module: str
    #: The distribution to install if the module is missing.
    install_hint: str
    #: How commits are made durable / not durable (for the write-up).
    commit_modes: str
    #: Whether this entry is the deliberately broken control of the crash test.
    control: bool = False
    #: Whether the engine writes its files with write system calls (not through a memory map),
    #: so that `wchar` counts what it writes.
    writes_by_syscall: bool = True

    def available(self) -> bool:
        """Whether the engine's Python package can be imported."""
        return importlib.util.find_spec(self.module) is not None

    @abstractmethod
    def version(self) -> str:
        """Binding and engine versions."""

    @abstractmethod
    def open(self, path: Path, *, durable: bool) -> Store:
        """Open (creating if needed) the database in directory `path`."""


class LmdbStore(Store):
    """LMDB: a copy-on-write B+tree in one memory-mapped file; a batch is one write txn."""

    def __init__(self, path: Path, durable: bool, writemap: bool = False) -> None:
        import lmdb

        path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(str(path), map_size=LMDB_MAP_SIZE, subdir=True, sync=durable,
                              metasync=durable, max_readers=512, max_dbs=0, lock=True,
                              writemap=writemap)

    def write_batch(self, items: Sequence[KVItem]) -> None:
        with self._env.begin(write=True) as txn:
            txn.cursor().putmulti(items)

    def get(self, key: bytes) -> bytes | None:
        with self._env.begin(buffers=False) as txn:
            return txn.get(key)

    def read_all(self, keys: Sequence[bytes]) -> int:
        found = 0
        with self._env.begin(buffers=False) as txn:
            get = txn.get
            for key in keys:
                if get(key) is not None:
                    found += 1
        return found

    def scan(self, prefix: bytes) -> Iterator[KVItem]:
        with self._env.begin(buffers=False) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return
            for key, value in cursor:
                if not key.startswith(prefix):
                    return
                yield key, value

    def close(self) -> None:
        self._env.close()


class LmdbPerKeyStore(LmdbStore):
    """The crash test's negative control: every write of a batch is its own transaction."""

    def write_batch(self, items: Sequence[KVItem]) -> None:
        for key, value in items:
            with self._env.begin(write=True) as txn:
                txn.put(key, value)


class LmdbEngine(Engine):
    name = "lmdb"
    module = "lmdb"
    install_hint = "lmdb"
    commit_modes = "sync/metasync=True (fdatasync per commit) vs sync/metasync=False"

    def version(self) -> str:
        import lmdb

        return f"py-lmdb {lmdb.__version__}, LMDB {'.'.join(map(str, lmdb.version()))}"

    def open(self, path: Path, *, durable: bool) -> Store:
        return LmdbStore(path, durable)


class LmdbWritemapEngine(LmdbEngine):
    """LMDB with MDB_WRITEMAP: dirty pages are written through the map, and the data file is
    extended to the whole map size at once (a sparse file). Not in the default set."""

    name = "lmdb-writemap"
    writes_by_syscall = False
    commit_modes = "MDB_WRITEMAP; sync/metasync=True (msync per commit) vs False"

    def open(self, path: Path, *, durable: bool) -> Store:
        return LmdbStore(path, durable, writemap=True)


class LmdbPerKeyEngine(LmdbEngine):
    name = "lmdb-per-key"
    control = True
    commit_modes = "one durable LMDB transaction per key (deliberately not atomic per batch)"

    def open(self, path: Path, *, durable: bool) -> Store:
        return LmdbPerKeyStore(path, durable)


class RocksStore(Store):
    """RocksDB via rocksdict (raw bytes mode): an LSM tree; a batch is one WriteBatch."""

    def __init__(self, path: Path, durable: bool) -> None:
        from rocksdict import BlockBasedOptions, Cache, Options, Rdict, WriteOptions

        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.increase_parallelism(os.cpu_count() or 2)
        table = BlockBasedOptions()
        table.set_bloom_filter(10, False)
        table.set_block_cache(Cache(CACHE_BYTES))
        options.set_block_based_table_factory(table)
        self._db = Rdict(str(path), options)
        self._write_options = WriteOptions()
        self._write_options.sync = durable

    def write_batch(self, items: Sequence[KVItem]) -> None:
        from rocksdict import WriteBatch

        batch = WriteBatch(raw_mode=True)
        put = batch.put
        for key, value in items:
            put(key, value)
        self._db.write(batch, self._write_options)

    def get(self, key: bytes) -> bytes | None:
        return self._db.get(key)

    def read_all(self, keys: Sequence[bytes]) -> int:
        get = self._db.get
        return sum(1 for key in keys if get(key) is not None)

    def scan(self, prefix: bytes) -> Iterator[KVItem]:
        for key, value in self._db.items(from_key=prefix):
            if not key.startswith(prefix):
                return
            yield key, value

    def close(self) -> None:
        self._db.close()


class RocksEngine(Engine):
    name = "rocksdb"
    module = "rocksdict"
    install_hint = "rocksdict"
    commit_modes = "WriteOptions.sync=True (WAL fsync per batch) vs sync=False (WAL written, not synced)"

    def version(self) -> str:
        return f"rocksdict {importlib.metadata.version('rocksdict')} ({_bundled_rocksdb_version()})"

    def open(self, path: Path, *, durable: bool) -> Store:
        return RocksStore(path, durable)


class LevelStore(Store):
    """LevelDB via plyvel: an LSM tree; a batch is one WriteBatch."""

    def __init__(self, path: Path, durable: bool) -> None:
        import plyvel

        self._db = plyvel.DB(str(path), create_if_missing=True, bloom_filter_bits=10,
                             lru_cache_size=CACHE_BYTES)
        self._sync = durable

    def write_batch(self, items: Sequence[KVItem]) -> None:
        batch = self._db.write_batch(sync=self._sync)
        put = batch.put
        for key, value in items:
            put(key, value)
        batch.write()

    def get(self, key: bytes) -> bytes | None:
        return self._db.get(key)

    def read_all(self, keys: Sequence[bytes]) -> int:
        get = self._db.get
        return sum(1 for key in keys if get(key) is not None)

    def scan(self, prefix: bytes) -> Iterator[KVItem]:
        with self._db.iterator(prefix=prefix) as iterator:
            yield from iterator

    def close(self) -> None:
        self._db.close()


class LevelEngine(Engine):
    name = "leveldb"
    module = "plyvel"
    install_hint = "plyvel"
    commit_modes = "write_batch(sync=True) (log fsync per batch) vs sync=False"

    def version(self) -> str:
        import plyvel

        return f"plyvel {plyvel.__version__}, LevelDB {plyvel.__leveldb_version__}"

    def open(self, path: Path, *, durable: bool) -> Store:
        return LevelStore(path, durable)


class SqliteStore(Store):
    """SQLite in WAL mode: one `kv` table (BLOB primary key, WITHOUT ROWID); a batch is
    one BEGIN ... COMMIT around an executemany."""

    _GET = "SELECT v FROM kv WHERE k = ?"

    def __init__(self, path: Path, durable: bool) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path / "kv.sqlite", isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._con.execute(f"PRAGMA cache_size=-{CACHE_BYTES // 1024}")
        self._con.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")

    def write_batch(self, items: Sequence[KVItem]) -> None:
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", items)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def get(self, key: bytes) -> bytes | None:
        row = self._con.execute(self._GET, (key,)).fetchone()
        return None if row is None else row[0]

    def read_all(self, keys: Sequence[bytes]) -> int:
        execute = self._con.cursor().execute
        sql = self._GET
        return sum(1 for key in keys if execute(sql, (key,)).fetchone() is not None)

    def scan(self, prefix: bytes) -> Iterator[KVItem]:
        upper = _prefix_upper_bound(prefix)
        if upper is None:
            rows = self._con.execute("SELECT k, v FROM kv WHERE k >= ? ORDER BY k", (prefix,))
        else:
            rows = self._con.execute("SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k", (prefix, upper))
        yield from rows

    def close(self) -> None:
        self._con.close()


class SqliteEngine(Engine):
    name = "sqlite"
    module = "sqlite3"
    install_hint = "(stdlib)"
    commit_modes = "WAL + synchronous=FULL (WAL fsync per commit) vs WAL + synchronous=NORMAL"

    def version(self) -> str:
        return f"sqlite3 stdlib, SQLite {sqlite3.sqlite_version}"

    def open(self, path: Path, *, durable: bool) -> Store:
        return SqliteStore(path, durable)


ENGINES: dict[str, Engine] = {e.name: e for e in (LmdbEngine(), RocksEngine(), LevelEngine(),
                                                   SqliteEngine(), LmdbPerKeyEngine(),
                                                   LmdbWritemapEngine())}
#: What a run measures unless `--engines` says otherwise.
DEFAULT_ENGINES = ("lmdb", "rocksdb", "leveldb", "sqlite", "lmdb-per-key")


def _bundled_rocksdb_version() -> str:
    """The RocksDB release compiled into rocksdict's extension (from its build tag)."""
    import rocksdict

    for library in Path(rocksdict.__file__).parent.glob("*.so"):
        data = library.read_bytes()
        marker = data.find(b"rocksdb_build_git_tag:")
        if marker >= 0:
            tag = data[marker + len(b"rocksdb_build_git_tag:"):marker + 64].split(b"\0")[0]
            return f"RocksDB {tag.decode(errors='replace').lstrip('v')}"
    return "RocksDB version unknown"


def _prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


# -- workload --------------------------------------------------------------------------------


@dataclass
class Workload:
    """Block-shaped write batches and the trie-node keys to read back."""

    batches: list[list[KVItem]]
    trie_keys: list[bytes]

    @property
    def writes(self) -> int:
        return sum(len(batch) for batch in self.batches)

    @property
    def payload_bytes(self) -> int:
        return sum(len(k) + len(v) for batch in self.batches for k, v in batch)


def make_workload(total_writes: int, seed: int = 1) -> Workload:
    """`total_writes` writes in batches of BATCH_SIZE, each shaped like one block's commit."""
    rng = random.Random(seed)
    batches: list[list[KVItem]] = []
    trie_keys: list[bytes] = []
    for number in range(-(-total_writes // BATCH_SIZE)):
        num = number.to_bytes(8, "big")
        block_hash = rng.randbytes(32)
        items: list[KVItem] = [
            (b"h" + num + block_hash, rng.randbytes(rng.randint(500, 620))),     # header
            (b"b" + num + block_hash, rng.randbytes(rng.randint(2_000, 20_000))),  # body
            (b"r" + num + block_hash, rng.randbytes(rng.randint(2_000, 20_000))),  # receipts
            (b"n" + num, block_hash),                                             # canonical index
        ]
        for _ in range(TX_INDEX_PER_BATCH):                                        # tx hash -> location
            items.append((b"l" + rng.randbytes(32), num + rng.randbytes(4)))
        while len(items) < BATCH_SIZE - 1:                                         # trie nodes
            key = rng.randbytes(32)
            items.append((key, rng.randbytes(rng.randint(70, 600))))
            trie_keys.append(key)
        items.append((b"H", block_hash))                                           # head pointer
        batches.append(items)
    return Workload(batches, trie_keys)


# -- measurements ----------------------------------------------------------------------------


@dataclass
class WriteResult:
    writes_per_s: float
    batches_per_s: float
    commit_ms_p50: float
    commit_ms_p99: float
    seconds: float
    #: Bytes passed to write system calls from open to close (None: not on Linux).
    written_bytes: int | None = None


@dataclass
class CrashResult:
    trials: int = 0
    batches_reported: int = 0
    kills_with_nothing_reported: int = 0
    lost_reported: int = 0        # (a) trials where a reported batch was not whole
    partial_batches: int = 0      # (b) trials where some batch was partly present
    head_mismatch: int = 0        # (c) trials where head != highest whole batch (or whole != 1..head)
    violating_trials: int = 0
    reopen_ms_median: float = 0.0
    reopen_ms_max: float = 0.0
    examples: list[str] = field(default_factory=list)


@dataclass
class EngineResult:
    engine: str
    version: str
    commit_modes: str
    control: bool
    write_durable: WriteResult | None = None
    write_nosync: WriteResult | None = None
    reads_loop_per_s: float | None = None
    reads_request_per_s: float | None = None
    open_ms_first: float | None = None
    open_ms_median: float | None = None
    disk_allocated: int | None = None
    disk_apparent: int | None = None
    disk_files: dict[str, tuple[int, int]] | None = None
    crash: CrashResult | None = None


def measure_writes(store: Store, workload: Workload) -> WriteResult:
    """Commit every batch of `workload` and time it (the loop only, GC off)."""
    latencies: list[float] = []
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for batch in workload.batches:
            t0 = time.perf_counter()
            store.write_batch(batch)
            latencies.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - start
    finally:
        gc.enable()
    latencies.sort()
    return WriteResult(
        writes_per_s=workload.writes / seconds,
        batches_per_s=len(workload.batches) / seconds,
        commit_ms_p50=1e3 * latencies[len(latencies) // 2],
        commit_ms_p99=1e3 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        seconds=seconds,
    )


def written_bytes() -> int | None:
    """Bytes this process (all its threads) has passed to write system calls, or None.

    `wchar`, not `write_bytes`: the kernel charges `write_bytes` per dirtied page-cache folio,
    and with large folios one dirtied 4 KiB page of a B-tree can be charged as much more
    (measured here: 8.4 GiB charged to LMDB for the 1 GiB that reached the device).
    """
    try:
        with open("/proc/self/io") as io:
            for line in io:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure_write_run(engine: Engine, path: Path, workload: Workload, *, durable: bool) -> WriteResult:
    """Write the whole workload into a fresh database at `path` and close it."""
    before = written_bytes()
    store = engine.open(path, durable=durable)
    result = measure_writes(store, workload)
    store.close()
    after = written_bytes()
    if before is not None and after is not None and engine.writes_by_syscall:
        result.written_bytes = after - before
    return result


def measure_reads(store: Store, keys: Sequence[bytes], rng: random.Random,
                  passes: int = 2) -> tuple[float, float]:
    """Warm random point reads, best of `passes`: (reads/s in the tight loop, reads/s one
    request at a time)."""
    sample = rng.choices(keys, k=len(keys))
    if store.read_all(sample) != len(sample):  # warm-up pass, also a correctness check
        raise BenchmarkError("a written key was not found")
    get = store.get
    loop = request = float("inf")
    for _ in range(passes):
        rng.shuffle(sample)
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            found = store.read_all(sample)
            loop = min(loop, time.perf_counter() - t0)
            t0 = time.perf_counter()
            found_requests = sum(1 for key in sample if get(key) is not None)
            request = min(request, time.perf_counter() - t0)
        finally:
            gc.enable()
        if found != len(sample) or found_requests != len(sample):
            raise BenchmarkError("a written key was not found")
    return len(sample) / loop, len(sample) / request


def measure_open(engine: Engine, path: Path, probe_key: bytes, repeats: int) -> tuple[float, float]:
    """Time to open the existing database and serve one read: (first, median) in ms."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        store = engine.open(path, durable=True)
        if store.get(probe_key) is None:
            raise BenchmarkError(f"{engine.name}: probe key missing after reopen")
        times.append(1e3 * (time.perf_counter() - t0))
        store.close()
    return times[0], statistics.median(times)


def disk_usage(path: Path) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """(allocated bytes, apparent bytes, per-file (allocated, apparent)) under `path`."""
    allocated = apparent = 0
    files: dict[str, tuple[int, int]] = {}
    for file in path.rglob("*"):
        if file.is_file():
            st = file.stat()
            files[str(file.relative_to(path))] = (st.st_blocks * 512, st.st_size)
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent, files


# -- crash test ------------------------------------------------------------------------------


def crash_key(batch: int, index: int) -> bytes:
    return CRASH_PREFIX + struct.pack(">QI", batch, index)


def crash_value(batch: int, index: int) -> bytes:
    """A 70-600-byte value that carries the batch number and can be checked exactly."""
    length = 70 + (batch * 7_919 + index * 104_729) % 531
    offset = (batch * 31 + index * 17) % 4_096
    return struct.pack(">QI", batch, index) + _CRASH_FILLER[offset:offset + length - 12]


def crash_child(engine_name: str, path: Path, batch_keys: int) -> None:
    """Commit batches head+1, head+2, ... forever; report each on stdout after its commit."""
    store = ENGINES[engine_name].open(path, durable=True)
    raw_head = store.get(CRASH_HEAD_KEY)
    head = 0 if raw_head is None else int.from_bytes(raw_head, "big")
    os.write(1, f"ready {head}\n".encode())
    batch = head + 1
    while True:
        items = [(crash_key(batch, i), crash_value(batch, i)) for i in range(batch_keys)]
        items.append((CRASH_HEAD_KEY, batch.to_bytes(8, "big")))
        store.write_batch(items)
        os.write(1, f"{batch}\n".encode())  # only after the commit returned
        batch += 1


@dataclass
class CrashCheck:
    head: int
    whole: set[int]
    partial: set[int]
    reopen_ms: float


def check_crash_db(engine: Engine, path: Path, batch_keys: int) -> CrashCheck:
    """Reopen after a kill and classify every batch found as whole or partial."""
    t0 = time.perf_counter()
    store = engine.open(path, durable=True)
    raw_head = store.get(CRASH_HEAD_KEY)
    reopen_ms = 1e3 * (time.perf_counter() - t0)
    try:
        counts: Counter[int] = Counter()
        corrupt: set[int] = set()
        for key, value in store.scan(CRASH_PREFIX):
            if len(key) != 13:
                raise BenchmarkError(f"unexpected key {key.hex()} in crash database")
            batch, index = struct.unpack(">QI", key[1:])
            counts[batch] += 1
            if index >= batch_keys or value != crash_value(batch, index):
                corrupt.add(batch)
    finally:
        store.close()
    head = 0 if raw_head is None else int.from_bytes(raw_head, "big")
    partial = {b for b, n in counts.items() if n != batch_keys} | corrupt
    whole = set(counts) - partial
    return CrashCheck(head, whole, partial, reopen_ms)


def judge_crash(check: CrashCheck, reported: set[int]) -> list[str]:
    """The violations found after a kill, each starting with its rule: (a) a batch reported
    as committed is not whole, (b) a batch is partly present, (c) the head is not the highest
    whole batch, or the whole batches are not exactly 1..head."""
    problems = []
    lost = reported - check.whole
    if lost:
        problems.append(f"(a) reported but not whole: {sorted(lost)[:5]}")
    if check.partial:
        problems.append(f"(b) partial batches: {sorted(check.partial)[:5]}")
    highest_whole = max(check.whole, default=0)
    if check.head != highest_whole or check.whole != set(range(1, highest_whole + 1)):
        problems.append(f"(c) head {check.head}, highest whole batch {highest_whole}, "
                        f"{len(check.whole)} whole batches")
    return problems


def run_crash_test(engine: Engine, root: Path, trials: int, batch_keys: int, max_delay: float,
                   rng: random.Random) -> CrashResult:
    """SIGKILL a committing child `trials` times and check the database after each kill."""
    result = CrashResult()
    path = root / f"crash-{engine.name}"
    reported_all: set[int] = set()
    expected_head = 0
    reopen_times: list[float] = []
    for trial in range(trials):
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--crash-child", engine.name, str(path),
             "--batch-keys", str(batch_keys)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None and child.stderr is not None
        ready = child.stdout.readline().decode().split()
        if ready[:1] != ["ready"]:
            child.kill()
            child.wait()
            raise BenchmarkError(f"{engine.name}: crash child did not start: {child.stderr.read().decode()[-2000:]}")
        if int(ready[1]) != expected_head:
            raise BenchmarkError(f"{engine.name}: child saw head {ready[1]}, parent verified {expected_head}")
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
        reader.start()
        time.sleep(rng.uniform(0.0, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        reader.join()
        child.stdout.close()
        stderr = child.stderr.read().decode()
        child.stderr.close()
        if child.returncode != -signal.SIGKILL:
            raise BenchmarkError(f"{engine.name}: crash child ended by itself ({child.returncode}): {stderr[-2000:]}")
        reported = {int(line) for line in lines}
        reported_all |= reported
        result.batches_reported += len(reported)
        result.kills_with_nothing_reported += not reported

        check = check_crash_db(engine, path, batch_keys)
        reopen_times.append(check.reopen_ms)
        problems = judge_crash(check, reported_all)
        result.lost_reported += any(p.startswith("(a)") for p in problems)
        result.partial_batches += any(p.startswith("(b)") for p in problems)
        result.head_mismatch += any(p.startswith("(c)") for p in problems)
        result.trials += 1
        if problems:
            result.violating_trials += 1
            if len(result.examples) < 3:
                result.examples.append(f"trial {trial}: " + "; ".join(problems))
            # Start over so that the next trial is judged on its own.
            shutil.rmtree(path, ignore_errors=True)
            reported_all.clear()
            expected_head = 0
        else:
            expected_head = check.head
    result.reopen_ms_median = statistics.median(reopen_times)
    result.reopen_ms_max = max(reopen_times)
    return result


# -- driver ----------------------------------------------------------------------------------


@dataclass
class Settings:
    total_writes: int
    crash_trials: int
    crash_batch_keys: int
    crash_max_delay: float
    open_repeats: int
    write_repeats: int


FULL = Settings(total_writes=200_000, crash_trials=20, crash_batch_keys=200, crash_max_delay=0.25,
                open_repeats=5, write_repeats=3)
QUICK = Settings(total_writes=20_000, crash_trials=5, crash_batch_keys=200, crash_max_delay=0.15,
                 open_repeats=3, write_repeats=1)


def bench_engine(engine: Engine, workload: Workload, settings: Settings, root: Path,
                 rng: random.Random) -> EngineResult:
    """All measurements of one engine (the control only gets the crash test)."""
    result = EngineResult(engine.name, engine.version(), engine.commit_modes, engine.control)
    if not engine.control:
        plain = root / f"{engine.name}-nosync"
        durable = root / f"{engine.name}-durable"
        for run in range(settings.write_repeats):
            shutil.rmtree(plain, ignore_errors=True)
            nosync = measure_write_run(engine, plain, workload, durable=False)
            synced = measure_write_run(engine, durable, workload, durable=True)
            shutil.rmtree(durable)
            if result.write_nosync is None or nosync.writes_per_s > result.write_nosync.writes_per_s:
                result.write_nosync = nosync
            if result.write_durable is None or synced.writes_per_s > result.write_durable.writes_per_s:
                result.write_durable = synced
            _progress(f"  {engine.name}: write run {run + 1}: {nosync.writes_per_s:,.0f}/s without fsync, "
                      f"{synced.writes_per_s:,.0f}/s durable")

        result.disk_allocated, result.disk_apparent, result.disk_files = disk_usage(plain)
        result.open_ms_first, result.open_ms_median = measure_open(
            engine, plain, workload.trie_keys[0], settings.open_repeats)

        store = engine.open(plain, durable=False)
        result.reads_loop_per_s, result.reads_request_per_s = measure_reads(store, workload.trie_keys, rng)
        store.close()
        shutil.rmtree(plain)
        _progress(f"  {engine.name}: open and reads done")

    result.crash = run_crash_test(engine, root, settings.crash_trials, settings.crash_batch_keys,
                                  settings.crash_max_delay, rng)
    _progress(f"  {engine.name}: crash test done ({result.crash.violating_trials} violating trials)")
    return result


def _describe_files(files: dict[str, tuple[int, int]]) -> str:
    """Files grouped by kind: count and allocated/apparent MiB."""
    groups: dict[str, list[int]] = {}
    for name, (alloc, size) in files.items():
        kind = Path(name).suffix or name.rstrip("0123456789-")
        group = groups.setdefault(kind, [0, 0, 0])
        group[0] += 1
        group[1] += alloc
        group[2] += size
    big = {kind: g for kind, g in groups.items() if max(g[1], g[2]) >= 100 << 10}
    small = sum(g[0] for kind, g in groups.items() if kind not in big)
    text = ", ".join(f"{count} x {kind} {alloc / 2**20:.1f}/{size / 2**20:.1f} MiB"
                     for kind, (count, alloc, size) in sorted(big.items(), key=lambda g: -g[1][2]))
    return text + (f", {small} small files (< 100 KiB)" if small else "")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _k(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e3:,.1f}k"


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.1f}"


def print_table(results: list[EngineResult], workload: Workload, settings: Settings) -> None:
    """The results as a fixed-width table, then the crash test details."""
    header = ("engine", "writes/s fsync", "commit p50/p99 ms", "written MiB", "writes/s no-sync",
              "reads/s loop", "reads/s request", "open ms 1st/med", "disk MiB alloc/appar", "crash viol.")
    rows = [header]
    for r in results:
        if r.control:
            rows.append((r.engine + " (control)", "-", "-", "-", "-", "-", "-", "-", "-",
                         f"{r.crash.violating_trials}/{r.crash.trials}"))
            continue
        rows.append((
            r.engine,
            _k(r.write_durable.writes_per_s),
            f"{r.write_durable.commit_ms_p50:.1f}/{r.write_durable.commit_ms_p99:.1f}",
            _mib(r.write_durable.written_bytes) if r.write_durable.written_bytes is not None else "(mmap)",
            _k(r.write_nosync.writes_per_s),
            _k(r.reads_loop_per_s),
            _k(r.reads_request_per_s),
            f"{r.open_ms_first:.1f}/{r.open_ms_median:.1f}",
            f"{_mib(r.disk_allocated)}/{_mib(r.disk_apparent)}",
            f"{r.crash.violating_trials}/{r.crash.trials}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    print(f"{workload.writes:,} writes in batches of {BATCH_SIZE:,} "
          f"({workload.payload_bytes / 2**20:.1f} MiB of keys+values); writes: best of "
          f"{settings.write_repeats} run(s); "
          f"{len(workload.trie_keys):,} warm random reads of trie-node keys")
    for i, row in enumerate(rows):
        print("  ".join(cell.rjust(w) if j else cell.ljust(w) for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("Crash test (SIGKILL while committing; (a) reported batch lost, (b) partial batch, "
          "(c) head != highest whole batch):")
    for r in results:
        c = r.crash
        print(f"  {r.engine:<14} trials {c.trials:>3}  batches reported {c.batches_reported:>6}  "
              f"(a) {c.lost_reported}  (b) {c.partial_batches}  (c) {c.head_mismatch}  "
              f"reopen ms median {c.reopen_ms_median:.1f} max {c.reopen_ms_max:.1f}")
        for example in c.examples:
            print(f"      {example}")
    print()
    for r in results:
        print(f"  {r.engine:<14} {r.version}; {r.commit_modes}")
        if r.disk_files:
            print(f"  {'':<14} files: {_describe_files(r.disk_files)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k writes, 5 crash trials")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)}")
    parser.add_argument("--dir", type=Path, default=None,
                        help="directory for the databases (default: a temporary directory)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crash-child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--batch-keys", type=int, default=FULL.crash_batch_keys, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.crash_child:
        crash_child(args.crash_child[0], Path(args.crash_child[1]), args.batch_keys)
        return 0

    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {unknown}; choose from {list(ENGINES)}")
    settings = QUICK if args.quick else FULL
    rng = random.Random(args.seed)

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    workload = make_workload(settings.total_writes, args.seed)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="store-engines-", dir=args.dir))
    results: list[EngineResult] = []
    skipped: list[str] = []
    failed: list[str] = []
    try:
        for name in names:
            engine = ENGINES[name]
            if not engine.available():
                message = (f"{name}: Python module '{engine.module}' is not installed, skipping "
                           f"(install the '{engine.install_hint}' package into this Python, e.g. "
                           f"uv pip install --python {sys.executable} {engine.install_hint})")
                print(message, flush=True)
                skipped.append(message)
                continue
            try:
                _progress(f"{name}: {engine.version()}")
                results.append(bench_engine(engine, workload, settings, root, rng))
            except Exception as exc:  # one broken engine must not hide the others' results
                message = f"{name}: FAILED: {type(exc).__name__}: {exc}"
                print(message, flush=True)
                failed.append(message)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - t_start

    if results:
        print_table(results, workload, settings)
    load_end = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs (1-min load average {load_start:.1f} at start, {load_end:.1f} at end), "
          f"Python {sys.version.split()[0]}, databases under {args.dir or tempfile.gettempdir()}, "
          f"total {elapsed:.0f}s")
    bad = [r.engine for r in results if not r.control and r.crash.violating_trials]
    blind = [r.engine for r in results if r.control and not r.crash.violating_trials]
    if bad:
        print(f"CRASH-SAFETY VIOLATIONS: {', '.join(bad)}")
    if blind:
        print(f"WARNING: the non-atomic control {blind} showed no violation; the crash test "
              f"did not catch a torn batch this run")
    for message in failed:
        print(message)
    if args.json:
        args.json.write_text(json.dumps({
            "settings": asdict(settings), "writes": workload.writes, "batch_size": BATCH_SIZE,
            "payload_bytes": workload.payload_bytes, "cpus": os.cpu_count(), "seconds": elapsed,
            "load_average": [load_start, load_end],
            "skipped": skipped, "failed": failed, "results": [asdict(r) for r in results]}, indent=2))
    return 1 if bad or blind or failed else 0


if __name__ == "__main__":
    sys.exit(main())
