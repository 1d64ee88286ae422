"""The farmer's PoS table cache: the same table for the same seed, bounded memory, and
solutions proved with a kept table equal the ones proved from scratch."""

from __future__ import annotations

import numpy as np

from chain.farmer.table_cache import PosTableCache, table_bytes
from chain.params import DEV
from chain.pos import table_for


class _Sized:
    def __init__(self, n: int) -> None:
        self.data = np.zeros(n, dtype=np.uint8)


def test_a_kept_table_is_returned_without_a_rebuild():
    built = []
    cache = PosTableCache()

    def build(seed):
        built.append(seed)
        return table_for(DEV, seed)

    first = cache.table(b"\x01" * 32, build)
    again = cache.table(b"\x01" * 32, build)
    assert again is first and built == [b"\x01" * 32]
    assert (cache.hits, cache.misses) == (1, 1)
    other = cache.table(b"\x02" * 32, build)
    assert other is not first and len(built) == 2
    assert other.find_proofs(range(64)) == table_for(DEV, b"\x02" * 32).find_proofs(range(64))
    assert cache.bytes == table_bytes(first) + table_bytes(other) > 0


def test_memory_stays_under_the_bound_least_recently_used_first_out():
    cache = PosTableCache(max_bytes=250)
    a = cache.table(b"a", lambda s: _Sized(100))
    cache.table(b"b", lambda s: _Sized(100))
    assert cache.table(b"a", lambda s: _Sized(100)) is a  # a is now the most recent
    cache.table(b"c", lambda s: _Sized(100))  # 300 > 250: b goes
    assert len(cache) == 2 and cache.bytes == 200
    assert cache.table(b"a", lambda s: _Sized(100)) is a
    rebuilt = []
    cache.table(b"b", lambda s: rebuilt.append(s) or _Sized(100))
    assert rebuilt == [b"b"]
    huge = cache.table(b"h", lambda s: _Sized(1000))  # larger than the bound: built, not kept
    assert isinstance(huge, _Sized) and len(cache) == 2 and cache.bytes <= 250
