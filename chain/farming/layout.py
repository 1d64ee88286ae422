"""The on-disk sector format (spec/consensus.md §5 "Sector contents map", "Sector layout";
`crates/subspace-farmer-components/src/sector.rs`, `plotting.rs::write_sector`).

A sector file is, in order:

1. the contents map: one `NUM_S_BUCKETS / 8`-byte bitfield per record (bitvec Lsb0: s-bucket i
   is bit `i & 7` of byte `i >> 3`; a set bit means "encoded chunk stored"), then `blake3` of
   all the bitfields;
2. s-buckets 0..NUM_S_BUCKETS-1, each the 32-byte chunks of every record that has a chunk
   there, in piece-offset order;
3. per-record metadata `{commitment 48, witness 48, blake3(piece) 32}`;
4. `blake3` of everything before it.

`SectorMetadata` (`{sector_index u16, pieces_in_sector u16, s_bucket_sizes [u16; NUM_S_BUCKETS],
history_size u64}`, SCALE, then a BLAKE3 checksum of that encoding) is stored separately.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from blake3 import blake3

from chain.params import Params

CHECKSUM_SIZE = 32
COMMITMENT_SIZE = 48
WITNESS_SIZE = 48
#: `RecordMetadata::encoded_size()`: commitment, witness, blake3(piece).
RECORD_METADATA_SIZE = COMMITMENT_SIZE + WITNESS_SIZE + CHECKSUM_SIZE


# --- Errors -------------------------------------------------------------------------------


class SectorError(Exception):
    """A sector file or its metadata cannot be used; says which file and what failed."""

    def __init__(self, path, what: str):
        self.path = None if path is None else os.fspath(path)
        self.what = what
        super().__init__(f"{self.path or '<in memory>'}: {what}")


class CorruptedSector(SectorError):
    """The sector's bytes fail a check (checksum, contents map, piece checksum)."""


class TruncatedSector(CorruptedSector):
    """The sector file is shorter than its metadata says."""


class CorruptedSectorMetadata(CorruptedSector):
    """The sector metadata has the wrong size, a bad checksum or impossible values."""


# --- Sizes --------------------------------------------------------------------------------


def record_bitfield_size(params: Params) -> int:
    """Bytes of one record's encoded-chunks bitfield: `NUM_S_BUCKETS / 8`."""
    return params.num_s_buckets // 8


def sector_contents_map_size(pieces_in_sector: int, params: Params) -> int:
    """`SectorContentsMap::encoded_size`: `pieces * NUM_S_BUCKETS/8 + 32`."""
    return pieces_in_sector * record_bitfield_size(params) + CHECKSUM_SIZE


def sector_record_chunks_size(pieces_in_sector: int, params: Params) -> int:
    """The s-bucket region: every record keeps exactly NUM_CHUNKS chunks."""
    return pieces_in_sector * params.record_size


def sector_record_metadata_size(pieces_in_sector: int) -> int:
    return pieces_in_sector * RECORD_METADATA_SIZE


def sector_size(pieces_in_sector: int, params: Params) -> int:
    """`sector_size`: contents map + s-buckets + record metadata + checksum (spec §5)."""
    return (
        sector_contents_map_size(pieces_in_sector, params)
        + sector_record_chunks_size(pieces_in_sector, params)
        + sector_record_metadata_size(pieces_in_sector)
        + CHECKSUM_SIZE
    )


def sector_metadata_size(params: Params) -> int:
    """Encoded `SectorMetadataChecksummed`: 2 + 2 + 2*NUM_S_BUCKETS + 8 + 32."""
    return 2 + 2 + 2 * params.num_s_buckets + 8 + CHECKSUM_SIZE


# --- Sector contents map --------------------------------------------------------------------


@dataclass
class SectorContentsMap:
    """Which s-buckets of each record hold a stored chunk, and whether it is encoded
    (spec §5 "Sector contents map"). `encoded[p, s]` is the bit of record p, s-bucket s."""

    encoded: np.ndarray  # bool, (pieces_in_sector, NUM_S_BUCKETS)
    num_chunks: int
    _present: np.ndarray | None = field(default=None, repr=False, compare=False)
    _rank: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def pieces_in_sector(self) -> int:
        return self.encoded.shape[0]

    def num_encoded_record_chunks(self) -> np.ndarray:
        return self.encoded.sum(axis=1)

    def present(self) -> np.ndarray:
        """`record_has_s_bucket_chunk` for every (record, s-bucket): the bit is set, or there are
        unencoded chunks and fewer than `NUM_CHUNKS - popcount` unset bits come before it."""
        if self._present is None:
            unencoded_total = np.maximum(self.num_chunks - self.num_encoded_record_chunks(), 0)[:, None]
            unset = ~self.encoded
            unencoded_before = np.cumsum(unset, axis=1, dtype=np.int64) - unset
            self._present = self.encoded | (unset & (unencoded_before < unencoded_total))
        return self._present

    def s_bucket_sizes(self) -> np.ndarray:
        """Number of stored chunks in each s-bucket (`SectorContentsMap::s_bucket_sizes`)."""
        return self.present().sum(axis=0).astype(np.uint16)

    def rank_in_s_bucket(self) -> np.ndarray:
        """For each (record, s-bucket) with a chunk, its index within the s-bucket (records in
        piece-offset order)."""
        if self._rank is None:
            present = self.present()
            self._rank = np.cumsum(present, axis=0, dtype=np.int64) - present
        return self._rank

    def s_bucket_records(self, s_bucket: int) -> list[tuple[int, bool]]:
        """`iter_s_bucket_records`: `(piece_offset, encoded)` of every chunk in the s-bucket,
        in on-disk order."""
        present = self.present()[:, s_bucket]
        return [(int(p), bool(self.encoded[p, s_bucket])) for p in np.nonzero(present)[0]]

    def encode(self) -> bytes:
        """The on-disk form: Lsb0 bitfields, then blake3 of them (`encode_into`)."""
        bitfields = np.packbits(self.encoded, axis=1, bitorder="little").tobytes()
        return bitfields + blake3(bitfields).digest()

    @classmethod
    def decode(cls, data: bytes, pieces_in_sector: int, params: Params, path=None) -> SectorContentsMap:
        """`SectorContentsMap::from_bytes`: checks the length, the checksum and that no record
        has more than NUM_CHUNKS encoded chunks."""
        expected = sector_contents_map_size(pieces_in_sector, params)
        if len(data) != expected:
            raise TruncatedSector(path, f"sector contents map is {len(data)} bytes, expected {expected}")
        bitfields, checksum = data[:-CHECKSUM_SIZE], data[-CHECKSUM_SIZE:]
        if blake3(bitfields).digest() != checksum:
            raise CorruptedSector(path, "sector contents map checksum mismatch")
        raw = np.frombuffer(bitfields, dtype=np.uint8).reshape(pieces_in_sector, -1)
        encoded = np.unpackbits(raw, axis=1, bitorder="little").astype(bool)
        counts = encoded.sum(axis=1)
        if pieces_in_sector and counts.max() > params.num_chunks:
            p = int(np.argmax(counts))
            raise CorruptedSector(path, f"record {p} has {int(counts[p])} encoded chunks, max {params.num_chunks}")
        return cls(encoded, params.num_chunks)


# --- Sector metadata ----------------------------------------------------------------------


@dataclass
class SectorMetadata:
    """`SectorMetadata` (spec §5 "Sector layout"): stored next to the sector, with a checksum."""

    sector_index: int
    pieces_in_sector: int
    s_bucket_sizes: np.ndarray  # uint16, NUM_S_BUCKETS
    history_size: int
    _offsets: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, SectorMetadata)
            and (self.sector_index, self.pieces_in_sector, self.history_size)
            == (other.sector_index, other.pieces_in_sector, other.history_size)
            and np.array_equal(self.s_bucket_sizes, other.s_bucket_sizes)
        )

    def s_bucket_offsets(self) -> np.ndarray:
        """Offset of each s-bucket from the start of the s-bucket region, in chunks."""
        if self._offsets is None:
            sizes = np.asarray(self.s_bucket_sizes, dtype=np.int64)
            self._offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return self._offsets

    def s_bucket_location(self, s_bucket: int, params: Params) -> tuple[int, int]:
        """(byte offset in the sector file, byte length) of one s-bucket (spec §6 "Audit":
        contents-map size + 32 * sum of the sizes before it)."""
        start = sector_contents_map_size(self.pieces_in_sector, params) + 32 * int(self.s_bucket_offsets()[s_bucket])
        return start, 32 * int(self.s_bucket_sizes[s_bucket])

    def encode(self) -> bytes:
        """SCALE encoding followed by its BLAKE3 checksum (`SectorMetadataChecksummed`)."""
        body = (
            self.sector_index.to_bytes(2, "little")
            + self.pieces_in_sector.to_bytes(2, "little")
            + np.asarray(self.s_bucket_sizes, dtype="<u2").tobytes()
            + self.history_size.to_bytes(8, "little")
        )
        return body + blake3(body).digest()

    @classmethod
    def decode(cls, data: bytes, params: Params, path=None) -> SectorMetadata:
        """Inverse of `encode`; checks the size, the checksum and the contents."""
        expected = sector_metadata_size(params)
        if len(data) != expected:
            raise CorruptedSectorMetadata(path, f"sector metadata is {len(data)} bytes, expected {expected}")
        body, checksum = data[:-CHECKSUM_SIZE], data[-CHECKSUM_SIZE:]
        if blake3(body).digest() != checksum:
            raise CorruptedSectorMetadata(path, "sector metadata checksum mismatch")
        sector_index = int.from_bytes(body[0:2], "little")
        pieces = int.from_bytes(body[2:4], "little")
        n = params.num_s_buckets
        sizes = np.frombuffer(body[4 : 4 + 2 * n], dtype="<u2").astype(np.uint16)
        history_size = int.from_bytes(body[4 + 2 * n :], "little")
        if history_size == 0:
            raise CorruptedSectorMetadata(path, "history size is zero")
        if int(sizes.sum()) != pieces * params.num_chunks or (pieces and int(sizes.max()) > pieces):
            raise CorruptedSectorMetadata(path, "s-bucket sizes do not match pieces_in_sector")
        return cls(sector_index, pieces, sizes, history_size)


@dataclass(frozen=True)
class RecordMetadata:
    """`RecordMetadata`: what a sector keeps of a piece besides its chunks."""

    commitment: bytes
    witness: bytes
    piece_checksum: bytes

    def encode(self) -> bytes:
        return self.commitment + self.witness + self.piece_checksum

    @classmethod
    def decode(cls, data: bytes) -> RecordMetadata:
        c, w = COMMITMENT_SIZE, COMMITMENT_SIZE + WITNESS_SIZE
        return cls(bytes(data[:c]), bytes(data[c:w]), bytes(data[w:RECORD_METADATA_SIZE]))


def record_metadata_offset(piece_offset: int, pieces_in_sector: int, params: Params) -> int:
    """Byte offset of one record's metadata in the sector file."""
    return (
        sector_contents_map_size(pieces_in_sector, params)
        + sector_record_chunks_size(pieces_in_sector, params)
        + piece_offset * RECORD_METADATA_SIZE
    )


def metadata_path(sector_path) -> str:
    """Where a sector's metadata is stored: next to the sector, with `.meta` appended."""
    return os.fspath(sector_path) + ".meta"


# --- Reading the files -----------------------------------------------------------------


def read_at(path, offset: int, length: int, what: str) -> bytes:
    """Read exactly `length` bytes at `offset`, or raise TruncatedSector."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except FileNotFoundError:
        raise CorruptedSector(path, f"sector file is missing (reading {what})") from None
    if len(data) != length:
        raise TruncatedSector(path, f"file ends at {offset + len(data)} while reading {what} ({length} bytes at {offset})")
    return data


def read_sector_metadata(sector_path, params: Params) -> SectorMetadata:
    """Load and check the metadata stored next to a sector (`<path>.meta`)."""
    path = metadata_path(sector_path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CorruptedSectorMetadata(path, "sector metadata file is missing") from None
    return SectorMetadata.decode(data, params, path)


def read_s_bucket(sector_path, metadata: SectorMetadata, s_bucket: int, params: Params) -> bytes:
    """Read only one s-bucket's chunks from the sector file (spec §6 "Audit": offset =
    contents-map size + 32 * sum of the s-bucket sizes before it)."""
    offset, length = metadata.s_bucket_location(s_bucket, params)
    return read_at(sector_path, offset, length, f"s-bucket {s_bucket}")
