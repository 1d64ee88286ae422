"""The embedded persistent key-value store behind everything.

Engine: LMDB (py-lmdb). Chosen by measurement (README "Storage engine"): every committed
batch survives kill -9 whole because one batch is one LMDB write transaction, reads are the
fastest of the candidates, and it is a single small wheel with no background threads.

The store is a flat byte-keyed map with namespaces by key prefix. Writers never write
key by key: they hand a whole batch (`write_batch`) to one durable transaction. Readers
read committed data only, so nothing a reader sees can be lost by a crash.

Errors are typed: `StoreError` (and `StoreCorrupted`) name the path that failed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import lmdb

#: The map size is a reservation of address space, not of disk: LMDB files grow sparsely.
DEFAULT_MAP_SIZE = 1 << 40  # 1 TiB

#: Marks a key for deletion inside a batch.
DELETE = None


class StoreError(Exception):
    """The store could not be opened, read or written."""


class StoreCorrupted(StoreError):
    """The store's files exist but are not a valid database."""


class KVStore:
    """A durable, crash-safe key-value store over one LMDB environment.

    - `get` / `exists` / `iterate` read committed data;
    - `write_batch` commits a mapping of key -> value (or `DELETE`) atomically and durably:
      after it returns, the batch survives kill -9 and power loss; if the process dies inside
      it, none of the batch is visible after restart.
    """

    def __init__(self, path: str | os.PathLike, *, map_size: int = DEFAULT_MAP_SIZE,
                 durable: bool = True, readonly: bool = False) -> None:
        self.path = Path(path)
        data = self.path / "data.mdb"
        if not readonly:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store directory {self.path}: {exc.strerror or exc}") from None
        elif not data.exists():
            raise StoreError(f"no database at {self.path} (missing {data})")
        if data.is_file() and data.stat().st_size == 0:
            # LMDB writes its two meta pages when it creates a file: an empty one was cut short.
            raise StoreCorrupted(f"{data} is empty (0 bytes), not a database: it was truncated (or its creation "
                                 f"was interrupted); restore it, or move it away to start a new store")
        try:
            self._env = lmdb.open(
                str(self.path),
                map_size=map_size,
                subdir=True,
                readonly=readonly,
                sync=durable,
                metasync=durable,
                max_readers=512,
                max_dbs=0,
                lock=True,
            )
        except lmdb.InvalidError as exc:
            raise StoreCorrupted(f"{self.path / 'data.mdb'} is not a valid LMDB database: {exc}") from exc
        except lmdb.Error as exc:
            raise StoreError(f"cannot open store at {self.path}: {exc}") from exc
        self._check_length(data)
        self._write_lock = threading.Lock()
        self._closed = False

    def _check_length(self, data: Path) -> None:
        """A file shorter than the pages its newest meta page says it holds was truncated:
        reading a page past its end would kill the process with SIGBUS, so refuse it here."""
        try:
            needed = (self._env.info()["last_pgno"] + 1) * self._env.stat()["psize"]
            size = data.stat().st_size
        except (lmdb.Error, OSError) as exc:
            self._env.close()
            raise StoreError(f"cannot check {data}: {exc}") from None
        if size < needed:
            self._env.close()
            raise StoreCorrupted(f"{data} is truncated: {size:,} bytes, but its last committed page ends at "
                                 f"{needed:,} bytes; restore it, or move it away to start a new store")

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The committed value under `key`, or None."""
        try:
            with self._env.begin(buffers=False) as txn:
                return txn.get(key)
        except lmdb.Error as exc:
            raise StoreError(f"read of key {key[:40].hex()} in {self.path} failed: {exc}") from exc

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def iterate(self, prefix: bytes = b"", *, reverse: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """All committed (key, value) pairs whose key starts with `prefix`, in key order.

        The iteration reads one snapshot: concurrent commits are not seen half-way.
        """
        with self._env.begin(buffers=False) as txn:
            cursor = txn.cursor()
            if not reverse:
                if not cursor.set_range(prefix):
                    return
                for key, value in cursor:
                    if not key.startswith(prefix):
                        return
                    yield key, value
            else:
                upper = _prefix_upper_bound(prefix)
                if upper is None:
                    positioned = cursor.last()
                elif cursor.set_range(upper):
                    positioned = cursor.prev()
                else:
                    positioned = cursor.last()
                if not positioned:
                    return
                for key, value in cursor.iterprev():
                    if not key.startswith(prefix):
                        return
                    yield key, value

    # -- writes ------------------------------------------------------------------------------

    def write_batch(self, batch: Mapping[bytes, bytes | None]) -> None:
        """Commit every write in `batch` in one durable transaction (all or nothing)."""
        if self._closed:
            raise StoreError(f"store at {self.path} is closed")
        with self._write_lock:
            try:
                with self._env.begin(write=True) as txn:
                    for key, value in batch.items():
                        if value is None:
                            txn.delete(key)
                        else:
                            txn.put(key, value)
            except lmdb.MapFullError as exc:
                raise StoreError(f"store at {self.path} is full (map size {self._env.info()['map_size']})") from exc
            except lmdb.Error as exc:
                raise StoreError(f"commit of {len(batch)} writes to {self.path} failed: {exc}") from exc

    def put(self, key: bytes, value: bytes) -> None:
        """Commit one write (a batch of one)."""
        self.write_batch({key: value})

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._env.close()

    def __enter__(self) -> "KVStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key that starts with `prefix` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
