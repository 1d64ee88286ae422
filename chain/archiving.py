"""Archiving: blocks -> segments -> records -> pieces, with KZG commitments (spec §4).

Upstream: `crates/subspace-archiving/src/{archiver,piece_reconstructor,reconstructor}.rs`,
`crates/subspace-core-primitives/src/segments.rs`, `crates/sc-consensus-subspace/src/archiver.rs`
(`encode_block`), `crates/subspace-verification/src/lib.rs` (`is_piece_valid`).

The flow, one function per rule:

* `Archiver.add_block` buffers confirmed blocks and cuts the buffer into segments
  (`Archiver._produce_segment`, spec §4 "Filling a segment"); the genesis block is first padded
  with a ChaCha8 keystream (`pad_genesis_block`) so that segment 0 exists immediately.
* `Archiver._archive_segment` turns a segment into pieces: erasure-code the records column by
  column (`chain.erasure.extend_records`), commit to each source record, extend the commitments,
  commit to their hashes (the segment commitment) and open that at every piece position.
* `is_piece_valid` checks a piece against a segment commitment; `reconstruct_pieces` rebuilds a
  segment's pieces from any half; `Reconstructor` turns segments back into blocks.

Sizes come from `chain.params.Params` (num_chunks, num_raw_records and what derives from them).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from blake3 import blake3

from chain import chacha, scale
from chain.erasure import extend_records, recover_records
from chain.kzg import (
    G1_SIZE,
    SCALAR_SIZE,
    Kzg,
    KzgError,
    blake3_254_hash_to_scalar,
    thread_pool,
)
from chain.params import Params
from chain.scale import ScaleError, compact_len, encode_compact

# --------------------------------------------------------------------------- errors


class ArchivingError(ValueError):
    """Archiving got input it cannot archive, or state it cannot resume from."""


class InvalidSegmentHeader(ArchivingError):
    """Bytes that do not decode as a `SegmentHeader`."""


class InvalidSegment(ArchivingError):
    """Bytes that do not decode as a `Segment` (or segments out of order)."""


class ReconstructionError(ArchivingError):
    """Pieces from which a segment cannot be reconstructed."""


# --------------------------------------------------------------------------- SCALE helpers


def decode_compact(data, offset: int) -> tuple[int, int]:
    """(value, offset after it); a malformed compact integer is an `InvalidSegment`."""
    try:
        return scale.decode_compact(data, offset)
    except ScaleError as exc:
        raise InvalidSegment(str(exc)) from None


def _read(data, offset: int, size: int, what: str, error=InvalidSegmentHeader) -> bytes:
    if offset + size > len(data):
        raise error(f"{what} at offset {offset}: needs {size} bytes, input ends at {len(data)}")
    return bytes(data[offset : offset + size])


# --------------------------------------------------------------------------- segment header


@dataclass(frozen=True)
class LastArchivedBlock:
    """`LastArchivedBlock{number u32, progress: Complete | Partial(u32 archived bytes)}`."""

    number: int
    #: Archived bytes of a partially archived block; None when the block is complete.
    partial: int | None = None

    @property
    def is_complete(self) -> bool:
        return self.partial is None

    def encode(self) -> bytes:
        """`u32 ‖ (0x00 | 0x01 ‖ u32)`."""
        head = self.number.to_bytes(4, "little")
        if self.partial is None:
            return head + b"\x00"
        return head + b"\x01" + self.partial.to_bytes(4, "little")

    @classmethod
    def decode_from(cls, data, offset: int = 0) -> tuple[LastArchivedBlock, int]:
        number = int.from_bytes(_read(data, offset, 4, "last_archived_block.number"), "little")
        tag = _read(data, offset + 4, 1, "last_archived_block.progress")[0]
        if tag == 0:
            return cls(number, None), offset + 5
        if tag == 1:
            partial = int.from_bytes(_read(data, offset + 5, 4, "last_archived_block.partial"), "little")
            return cls(number, partial), offset + 9
        raise InvalidSegmentHeader(f"last_archived_block.progress at offset {offset + 4}: unknown variant {tag}")


#: Before any block: block 0 with 0 bytes archived (`INITIAL_LAST_ARCHIVED_BLOCK`).
INITIAL_LAST_ARCHIVED_BLOCK = LastArchivedBlock(0, 0)


@dataclass(frozen=True)
class SegmentHeader:
    """`SegmentHeader::V0` (spec §4 "Segment header")."""

    segment_index: int
    segment_commitment: bytes
    prev_segment_header_hash: bytes
    last_archived_block: LastArchivedBlock

    def encode(self) -> bytes:
        """SCALE: `0x00 ‖ u64 ‖ 48 ‖ 32 ‖ u32 ‖ (0x00 | 0x01 ‖ u32)`."""
        if len(self.segment_commitment) != G1_SIZE or len(self.prev_segment_header_hash) != 32:
            raise InvalidSegmentHeader(
                f"segment {self.segment_index}: commitment must be 48 bytes and prev hash 32 bytes"
            )
        return (
            b"\x00"
            + self.segment_index.to_bytes(8, "little")
            + bytes(self.segment_commitment)
            + bytes(self.prev_segment_header_hash)
            + self.last_archived_block.encode()
        )

    def hash(self) -> bytes:
        """`blake3(encoding)`."""
        return blake3(self.encode()).digest()

    @classmethod
    def decode_from(cls, data, offset: int = 0) -> tuple[SegmentHeader, int]:
        variant = _read(data, offset, 1, "segment header variant")[0]
        if variant != 0:
            raise InvalidSegmentHeader(f"segment header at offset {offset}: unknown variant {variant}")
        index = int.from_bytes(_read(data, offset + 1, 8, "segment_index"), "little")
        commitment = _read(data, offset + 9, G1_SIZE, "segment_commitment")
        prev = _read(data, offset + 57, 32, "prev_segment_header_hash")
        last, end = LastArchivedBlock.decode_from(data, offset + 89)
        return cls(index, commitment, prev, last), end

    @classmethod
    def decode(cls, data: bytes) -> SegmentHeader:
        header, end = cls.decode_from(data, 0)
        if end != len(data):
            raise InvalidSegmentHeader(f"segment header: {len(data) - end} trailing bytes")
        return header


# --------------------------------------------------------------------------- segment items


@dataclass(frozen=True)
class Padding:
    """Item 0: one zero byte."""


@dataclass(frozen=True)
class Block:
    """Item 1: a whole block."""

    data: bytes


@dataclass(frozen=True)
class BlockStart:
    """Item 2: the beginning of a block continued in the next segment(s)."""

    data: bytes


@dataclass(frozen=True)
class BlockContinuation:
    """Item 3: the continuation of a block started in an earlier segment."""

    data: bytes


@dataclass(frozen=True)
class ParentSegmentHeader:
    """Item 4: the previous segment's header, first in every segment after segment 0."""

    header: SegmentHeader


SegmentItem = Padding | Block | BlockStart | BlockContinuation | ParentSegmentHeader
_ITEM_INDEX = {Padding: 0, Block: 1, BlockStart: 2, BlockContinuation: 3, ParentSegmentHeader: 4}
_BYTES_ITEMS = {1: Block, 2: BlockStart, 3: BlockContinuation}


def encode_item(item: SegmentItem) -> bytes:
    """SCALE enum: index byte, then `Compact(len) ‖ bytes` or the header."""
    index = _ITEM_INDEX[type(item)]
    if index == 0:
        return b"\x00"
    if index == 4:
        return b"\x04" + item.header.encode()
    return bytes([index]) + encode_compact(len(item.data)) + bytes(item.data)


def item_encoded_size(item: SegmentItem) -> int:
    index = _ITEM_INDEX[type(item)]
    if index == 0:
        return 1
    if index == 4:
        return 1 + len(item.header.encode())
    return 1 + compact_len(len(item.data)) + len(item.data)


def decode_item(data, offset: int) -> tuple[SegmentItem, int]:
    index = data[offset]
    if index == 0:
        return Padding(), offset + 1
    if index in _BYTES_ITEMS:
        length, start = decode_compact(data, offset + 1)
        body = _read(data, start, length, f"segment item {index} body", InvalidSegment)
        return _BYTES_ITEMS[index](body), start + length
    if index == 4:
        try:
            header, end = SegmentHeader.decode_from(data, offset + 1)
        except InvalidSegmentHeader as exc:
            raise InvalidSegment(f"parent segment header at offset {offset}: {exc}") from None
        return ParentSegmentHeader(header), end
    raise InvalidSegment(f"segment item at offset {offset}: unknown variant {index}")


def encode_segment(items: Sequence[SegmentItem], params: Params) -> bytearray:
    """`Segment::V0`: 0x00, the items with no length prefix, zero padding to the segment size."""
    out = bytearray(b"\x00")
    for item in items:
        out += encode_item(item)
    if len(out) > params.segment_size:
        raise ArchivingError(f"segment items take {len(out)} bytes, more than {params.segment_size}")
    out += bytes(params.segment_size - len(out))
    return out


def decode_segment(data) -> list[SegmentItem]:
    """The items of an encoded segment, without the `Padding` items (each zero byte decodes as
    one; trailing padding is skipped in one step)."""
    data = memoryview(data)
    if not len(data) or data[0] != 0:
        raise InvalidSegment("segment: missing or unknown variant byte")
    raw = data.tobytes()
    end = len(raw.rstrip(b"\x00"))
    items, offset = [], 1
    while offset < len(raw):
        if raw[offset] == 0 and offset >= end:
            break
        item, offset = decode_item(raw, offset)
        if not isinstance(item, Padding):
            items.append(item)
    return items


# --------------------------------------------------------------------------- pieces


def piece_record(piece: bytes, params: Params) -> bytes:
    """The record: `num_chunks` 32-byte scalars."""
    return piece[: params.record_size]


def piece_commitment(piece: bytes, params: Params) -> bytes:
    """The record commitment (48 bytes)."""
    return piece[params.record_size : params.record_size + params.commitment_size]


def piece_witness(piece: bytes, params: Params) -> bytes:
    """The record witness: opening of the segment polynomial at the piece position (48 bytes)."""
    start = params.record_size + params.commitment_size
    return piece[start : start + params.commitment_size]


def record_commitment(kzg: Kzg, record: bytes) -> bytes:
    """`commit(poly(record chunks))` (spec §4 "Record commitment")."""
    return kzg.commit(kzg.poly(record))


def segment_polynomial(kzg: Kzg, commitments: Sequence[bytes]):
    """`poly(blake3_254(C_0) ‖ … ‖ blake3_254(C_255))`: the polynomial of the segment commitment."""
    return kzg.poly(b"".join(blake3_254_hash_to_scalar(c) for c in commitments))


def is_piece_valid(kzg: Kzg, piece: bytes, segment_commitment: bytes, position: int, params: Params) -> bool:
    """`is_piece_valid` (spec §4 "Piece verification"): the record's chunks are canonical scalars,
    their commitment equals the embedded one, and `blake3_254(C)` opens at `position` (domain
    num_pieces) of the segment commitment with the embedded witness."""
    if len(piece) != params.piece_size or not 0 <= position < params.num_pieces:
        return False
    commitment = piece_commitment(piece, params)
    try:
        if record_commitment(kzg, piece_record(piece, params)) != commitment:
            return False
    except KzgError:
        return False
    return kzg.verify(
        segment_commitment,
        params.num_pieces,
        position,
        blake3_254_hash_to_scalar(commitment),
        piece_witness(piece, params),
    )


def _commit_pieces(kzg: Kzg, buf: bytearray, params: Params, source_commitments: list[bytes], timings: dict) -> bytes:
    """Extend the source record commitments, commit to their hashes, open at every position, and
    write commitment ‖ witness into each piece of `buf`. Returns the segment commitment."""
    t = time.perf_counter()
    commitments = kzg.extend_commitments(source_commitments)
    timings["extend_commitments"] = time.perf_counter() - t
    t = time.perf_counter()
    polynomial = segment_polynomial(kzg, commitments)
    segment_commitment = kzg.commit(polynomial)
    timings["segment_commitment"] = time.perf_counter() - t
    t = time.perf_counter()
    witnesses = kzg.create_witnesses(polynomial, params.num_pieces, range(params.num_pieces))
    timings["witnesses"] = time.perf_counter() - t
    size, rs, cs = params.piece_size, params.record_size, params.commitment_size
    for position, (commitment, witness) in enumerate(zip(commitments, witnesses)):
        at = position * size + rs
        buf[at : at + cs] = commitment
        buf[at + cs : at + 2 * cs] = witness
    return segment_commitment


def _source_commitments(kzg: Kzg, buf: bytearray, params: Params, indices: Sequence[int]) -> dict[int, bytes]:
    """Record commitments of the source records `indices` (piece 2k) of `buf`, over the cores."""
    size, rs = params.piece_size, params.record_size
    view = memoryview(buf)
    if indices:
        kzg.prepare(params.num_chunks)
    work = lambda k: record_commitment(kzg, view[2 * k * size : 2 * k * size + rs])  # noqa: E731
    return dict(zip(indices, thread_pool().map(work, indices)))


def _split_pieces(buf: bytearray, params: Params) -> list[bytes]:
    size = params.piece_size
    view = memoryview(buf)
    return [bytes(view[i * size : (i + 1) * size]) for i in range(params.num_pieces)]


# --------------------------------------------------------------------------- genesis


def chacha_keystream(key: bytes, length: int, rounds: int = 8) -> bytes:
    """rand_chacha's `ChaCha8Rng::from_seed(key)` output (rounds=8): the ChaCha keystream for a
    32-byte key, zero nonce, block counter from 0 (spec §4 "Genesis")."""
    if len(key) != 32:
        raise ArchivingError(f"ChaCha key must be 32 bytes, got {len(key)}")
    return chacha.keystream(key, length, rounds)


def pad_genesis_block(encoded_block: bytes, state_root: bytes, params: Params) -> bytes:
    """The genesis block as archived (`encode_block` for block 0, spec §4 "Genesis"): its
    encoding followed by ChaCha8 keystream seeded with the 32-byte state root, up to the
    segment size, so that segment 0 is produced immediately."""
    if len(state_root) != 32:
        raise ArchivingError(f"genesis state root must be 32 bytes, got {len(state_root)}")
    if len(encoded_block) > params.segment_size:
        raise ArchivingError(
            f"genesis block of {len(encoded_block)} bytes exceeds the segment size {params.segment_size}"
        )
    return bytes(encoded_block) + chacha_keystream(state_root, params.segment_size - len(encoded_block))


# --------------------------------------------------------------------------- the archiver


@dataclass
class NewArchivedSegment:
    """A segment's header and its `num_pieces` pieces (record ‖ commitment ‖ witness)."""

    segment_header: SegmentHeader
    pieces: list[bytes]
    #: Seconds per stage of producing it (diagnostics).
    timings: dict = field(default_factory=dict, compare=False, repr=False)


_STATE_VERSION = 0


class Archiver:
    """The block archiver (`subspace_archiving::archiver::Archiver`).

    Feed it confirmed blocks in order (`add_block`, the genesis block through
    `add_genesis_block`); it returns each segment as soon as its data is complete. Its state
    (`to_bytes` / `from_bytes`) lets a node resume exactly where it stopped.
    """

    def __init__(self, params: Params, kzg: Kzg | None = None):
        self.params = params
        self.kzg = kzg or Kzg.default()
        self.buffer: deque[SegmentItem] = deque()
        self.segment_index = 0
        self.prev_segment_header_hash = bytes(32)
        self.last_archived_block = INITIAL_LAST_ARCHIVED_BLOCK

    @classmethod
    def with_initial_state(
        cls, params: Params, kzg: Kzg | None, segment_header: SegmentHeader, encoded_block: bytes
    ) -> Archiver:
        """Resume after `segment_header`; `encoded_block` is its last archived block (its
        unarchived tail is buffered as a continuation when it was archived partially)."""
        archiver = cls(params, kzg)
        archiver.segment_index = segment_header.segment_index + 1
        archiver.prev_segment_header_hash = segment_header.hash()
        archiver.last_archived_block = segment_header.last_archived_block
        archiver.buffer.append(ParentSegmentHeader(segment_header))
        archived = segment_header.last_archived_block.partial
        if archived is not None:
            if len(encoded_block) < archived:
                raise ArchivingError(
                    f"block {segment_header.last_archived_block.number}: {len(encoded_block)} bytes "
                    f"is smaller than the {archived} bytes already archived"
                )
            if len(encoded_block) == archived:
                raise ArchivingError(
                    f"block {segment_header.last_archived_block.number}: partially archived size "
                    f"{archived} equals the whole block"
                )
            archiver.buffer.append(BlockContinuation(bytes(encoded_block[archived:])))
        return archiver

    def last_archived_block_number(self) -> int | None:
        """The number of the last block archived (fully or partly), None before any."""
        if self.last_archived_block == INITIAL_LAST_ARCHIVED_BLOCK:
            return None
        return self.last_archived_block.number

    def add_genesis_block(self, encoded_block: bytes, state_root: bytes) -> list[NewArchivedSegment]:
        """Archive block 0, padded per `pad_genesis_block`."""
        return self.add_block(pad_genesis_block(encoded_block, state_root, self.params))

    def add_block(self, encoded_block: bytes) -> list[NewArchivedSegment]:
        """Buffer the next block; return every segment that is now complete."""
        self.buffer.append(Block(bytes(encoded_block)))
        segments = []
        while (items := self._produce_segment()) is not None:
            segments.append(self._archive_segment(items))
        return segments

    def _produce_segment(self) -> list[SegmentItem] | None:
        """Fill one segment from the buffer (spec §4 "Filling a segment"), or None (buffer
        untouched) while there is not enough data.

        Items are pulled while the encoding is shorter than SIZE−2. An item that overflows the
        segment by `spill` bytes is pushed back if spill exceeds its payload, otherwise it is cut
        at `len − spill` (computed with its original length prefix): the head stays (Block →
        BlockStart, continuation → continuation), the tail goes back as a BlockContinuation.
        """
        size_limit = self.params.segment_size
        items: list[SegmentItem] = []
        size = 1  # the Segment::V0 variant byte
        last = self.last_archived_block
        while size < size_limit - 2:
            if not self.buffer:
                self.buffer.extendleft(reversed(items))
                return None
            item = self.buffer.popleft()
            item_size = item_encoded_size(item)
            size += item_size
            if size >= size_limit:
                if isinstance(item, ParentSegmentHeader):
                    raise ArchivingError("segment header does not fit into a segment")
                spill = size - size_limit
                if spill > len(item.data):
                    self.buffer.appendleft(item)
                    size -= item_size
                    break
            if isinstance(item, Block):
                number = last.number if last == INITIAL_LAST_ARCHIVED_BLOCK else last.number + 1
                last = LastArchivedBlock(number, None)
            elif isinstance(item, BlockContinuation):
                if last.partial is None:
                    raise ArchivingError(f"block {last.number}: continuation without a partial block")
                last = LastArchivedBlock(last.number, last.partial + len(item.data))
            items.append(item)

        spill = max(0, size - size_limit)
        if spill:
            item = items.pop()
            split = len(item.data) - spill
            head, tail = item.data[:split], item.data[split:]
            if isinstance(item, Block):
                last = LastArchivedBlock(last.number, len(head))
                items.append(BlockStart(head))
            else:
                last = LastArchivedBlock(last.number, last.partial - spill)
                items.append(BlockContinuation(head))
            self.buffer.appendleft(BlockContinuation(tail))
        else:
            last = LastArchivedBlock(last.number, None)
        self.last_archived_block = last
        return items

    def _archive_segment(self, items: list[SegmentItem]) -> NewArchivedSegment:
        """Segment → pieces and header (spec §4 "Pieces", "Commitments", "Segment header")."""
        params, kzg = self.params, self.kzg
        timings: dict[str, float] = {}
        t = time.perf_counter()
        segment = encode_segment(items, params)
        timings["segment_encoding"] = time.perf_counter() - t

        t = time.perf_counter()
        buf = bytearray(params.num_pieces * params.piece_size)
        extend_records(segment, params.num_raw_records, params.num_chunks, buf, params.piece_size)
        del segment
        timings["erasure_coding"] = time.perf_counter() - t

        t = time.perf_counter()
        sources = _source_commitments(kzg, buf, params, range(params.num_raw_records))
        timings["record_commitments"] = time.perf_counter() - t

        segment_commitment = _commit_pieces(
            kzg, buf, params, [sources[k] for k in range(params.num_raw_records)], timings
        )
        header = SegmentHeader(
            self.segment_index, segment_commitment, self.prev_segment_header_hash, self.last_archived_block
        )
        self.segment_index += 1
        self.prev_segment_header_hash = header.hash()
        self.buffer.appendleft(ParentSegmentHeader(header))
        t = time.perf_counter()
        pieces = _split_pieces(buf, params)
        timings["pieces"] = time.perf_counter() - t
        return NewArchivedSegment(header, pieces, timings)

    # -- persistence
    def to_bytes(self) -> bytes:
        """The archiver state: version, segment size, segment index, previous header hash, last
        archived block and the buffered items (SCALE-encoded, count-prefixed)."""
        parts = [
            bytes([_STATE_VERSION]),
            self.params.segment_size.to_bytes(8, "little"),
            self.segment_index.to_bytes(8, "little"),
            self.prev_segment_header_hash,
            self.last_archived_block.encode(),
            encode_compact(len(self.buffer)),
        ]
        parts.extend(encode_item(item) for item in self.buffer)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, params: Params, kzg: Kzg | None = None) -> Archiver:
        """An archiver in the state `to_bytes` saved."""
        try:
            if not data or data[0] != _STATE_VERSION:
                raise ArchivingError("archiver state: unknown version")
            segment_size = int.from_bytes(_read(data, 1, 8, "segment size", ArchivingError), "little")
            if segment_size != params.segment_size:
                raise ArchivingError(
                    f"archiver state is for segments of {segment_size} bytes, params {params.name!r} "
                    f"have {params.segment_size}"
                )
            archiver = cls(params, kzg)
            archiver.segment_index = int.from_bytes(_read(data, 9, 8, "segment index", ArchivingError), "little")
            archiver.prev_segment_header_hash = _read(data, 17, 32, "previous header hash", ArchivingError)
            archiver.last_archived_block, offset = LastArchivedBlock.decode_from(data, 49)
            count, offset = decode_compact(data, offset)
            for _ in range(count):
                item, offset = decode_item(data, offset)
                archiver.buffer.append(item)
            if offset != len(data):
                raise ArchivingError(f"archiver state: {len(data) - offset} trailing bytes")
            return archiver
        except (InvalidSegment, InvalidSegmentHeader, IndexError) as exc:
            raise ArchivingError(f"archiver state: {exc}") from None


# --------------------------------------------------------------------------- reconstruction


def _check_pieces(pieces: Sequence[bytes | None], params: Params, where: str) -> list[bool]:
    if len(pieces) != params.num_pieces:
        raise ReconstructionError(f"{where}: expected {params.num_pieces} piece slots, got {len(pieces)}")
    present = []
    for i, piece in enumerate(pieces):
        if piece is not None and len(piece) != params.piece_size:
            raise ReconstructionError(f"{where}: piece {i} is {len(piece)} bytes, expected {params.piece_size}")
        present.append(piece is not None)
    have = sum(present)
    if have < params.num_raw_records:
        raise ReconstructionError(f"{where}: need at least {params.num_raw_records} of {params.num_pieces} pieces, have {have}")
    return present


def _where(segment_index: int | None) -> str:
    return "segment" if segment_index is None else f"segment {segment_index}"


def _recover_buffer(pieces: Sequence[bytes | None], params: Params, where: str) -> tuple[bytearray, list[bool]]:
    present = _check_pieces(pieces, params, where)
    size = params.piece_size
    buf = bytearray(params.num_pieces * size)
    for i, piece in enumerate(pieces):
        if piece is not None:
            buf[i * size : (i + 1) * size] = piece
    recover_records(buf, size, present, params.num_chunks, what=where)
    return buf, present


def reconstruct_pieces(
    pieces: Sequence[bytes | None], params: Params, kzg: Kzg | None = None, segment_index: int | None = None
) -> list[bytes]:
    """All pieces of a segment from any half (`PiecesReconstructor::reconstruct_segment`): the
    records are recovered column by column, the source record commitments are taken from the
    present source pieces or recomputed, then extended, and every witness is recreated."""
    kzg = kzg or Kzg.default()
    where = _where(segment_index)
    buf, present = _recover_buffer(pieces, params, where)
    missing = [k for k in range(params.num_raw_records) if not present[2 * k]]
    computed = _source_commitments(kzg, buf, params, missing)
    sources = []
    for k in range(params.num_raw_records):
        sources.append(computed[k] if k in computed else piece_commitment(pieces[2 * k], params))
    try:
        _commit_pieces(kzg, buf, params, sources, {})
    except KzgError as exc:
        raise ReconstructionError(f"{where}: {exc}") from None
    return _split_pieces(buf, params)


def reconstruct_segment(
    pieces: Sequence[bytes | None], params: Params, kzg: Kzg | None = None, segment_index: int | None = None
) -> list[bytes]:
    """Alias of `reconstruct_pieces` (upstream's name for rebuilding a whole archived segment)."""
    return reconstruct_pieces(pieces, params, kzg, segment_index)


def reconstruct_piece(
    pieces: Sequence[bytes | None], position: int, params: Params, kzg: Kzg | None = None,
    segment_index: int | None = None,
) -> bytes:
    """One piece of a segment from any half of its pieces."""
    if not 0 <= position < params.num_pieces:
        raise ReconstructionError(f"{_where(segment_index)}: piece position {position} out of range")
    return reconstruct_pieces(pieces, params, kzg, segment_index)[position]


def segment_data_from_pieces(pieces: Sequence[bytes | None], params: Params, segment_index: int | None = None) -> bytes:
    """The encoded segment (`segment_size` bytes) from any half of its pieces: the source records'
    chunks without their 0x00 prefix (`Reconstructor::reconstruct_segment`)."""
    where = _where(segment_index)
    size, chunks = params.piece_size, params.num_chunks
    _check_pieces(pieces, params, where)
    if all(pieces[2 * k] is not None for k in range(params.num_raw_records)):
        records = b"".join(piece_record(pieces[2 * k], params) for k in range(params.num_raw_records))
        matrix = np.frombuffer(records, dtype=np.uint8).reshape(-1, SCALAR_SIZE)
    else:
        buf, _ = _recover_buffer(pieces, params, where)
        rows = np.frombuffer(buf, dtype=np.uint8).reshape(params.num_pieces, size)[0::2, : params.record_size]
        matrix = rows.reshape(-1, SCALAR_SIZE)
    if matrix[:, 0].any():
        bad = int(np.flatnonzero(matrix[:, 0])[0])
        raise ReconstructionError(f"{where}: source record {bad // chunks} chunk {bad % chunks} is not a safe 31-byte value")
    return matrix[:, 1:].tobytes()


@dataclass
class ReconstructedContents:
    """What one segment gives back: its parent's header (if any) and the blocks it completes."""

    segment_header: SegmentHeader | None = None
    blocks: list[tuple[int, bytes]] = field(default_factory=list)


class Reconstructor:
    """Segments (in order) → blocks (`subspace_archiving::reconstructor::Reconstructor`)."""

    def __init__(self, params: Params):
        self.params = params
        self.last_segment_index: int | None = None
        self.partial_block: bytes | None = None

    def add_segment(self, pieces: Sequence[bytes | None]) -> ReconstructedContents:
        """Decode the next segment from any half of its pieces."""
        return self.add_segment_data(segment_data_from_pieces(pieces, self.params, self.last_segment_index))

    def add_segment_data(self, segment: bytes) -> ReconstructedContents:
        """Decode the next segment from its encoding: whole blocks, and blocks completed by
        continuations, numbered from the parent segment header's `last_archived_block`."""
        contents = ReconstructedContents()
        next_number = 0
        partial = self.partial_block or b""
        self.partial_block = None
        for item in decode_segment(segment):
            if isinstance(item, Block):
                if partial:
                    contents.blocks.append((next_number, partial))
                    partial = b""
                    next_number += 1
                contents.blocks.append((next_number, item.data))
                next_number += 1
            elif isinstance(item, BlockStart):
                if partial:
                    contents.blocks.append((next_number, partial))
                    next_number += 1
                partial = item.data
            elif isinstance(item, BlockContinuation):
                if partial:  # a continuation of a block whose start we never saw is skipped
                    partial += item.data
            elif isinstance(item, ParentSegmentHeader):
                index = item.header.segment_index
                if self.last_segment_index is not None and self.last_segment_index != index:
                    raise InvalidSegment(
                        f"segments out of order: expected segment {self.last_segment_index + 1}, "
                        f"got segment {index + 1}"
                    )
                self.last_segment_index = index + 1
                contents.segment_header = item.header
                last = item.header.last_archived_block
                if last.is_complete:
                    if partial:  # cannot happen for well-formed history; upstream pushes it anyway
                        contents.blocks.append((next_number, partial))
                    partial = b""
                    next_number = last.number + 1
                else:
                    next_number = last.number + (0 if partial else 1)
        if partial:
            self.partial_block = partial
        if self.last_segment_index is None:
            self.last_segment_index = 0
        return contents
