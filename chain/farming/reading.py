"""Reading a plotted sector back (spec/consensus.md §5, §6; `crates/subspace-farmer-components/
src/reading.rs`). Every read checks that the file holds the bytes the metadata promises;
failures raise `SectorError` subclasses naming the file."""

from __future__ import annotations

import mmap
import os

import numpy as np
from blake3 import blake3

from chain import erasure
from chain.farming.encoding import decode_chunks, pos_table
from chain.farming.identifiers import evaluation_seed
from chain.farming.layout import (
    CHECKSUM_SIZE,
    RECORD_METADATA_SIZE,
    CorruptedSector,
    RecordMetadata,
    SectorContentsMap,
    SectorMetadata,
    TruncatedSector,
    read_at,
    record_metadata_offset,
    sector_contents_map_size,
    sector_size,
)
from chain.params import Params


def read_contents_map(sector_path, metadata: SectorMetadata, params: Params) -> SectorContentsMap:
    """Read and check the sector contents map at the start of the sector file; its s-bucket
    sizes must agree with the metadata."""
    size = sector_contents_map_size(metadata.pieces_in_sector, params)
    data = read_at(sector_path, 0, size, "the sector contents map")
    contents_map = SectorContentsMap.decode(data, metadata.pieces_in_sector, params, sector_path)
    if not np.array_equal(contents_map.s_bucket_sizes(), metadata.s_bucket_sizes):
        raise CorruptedSector(sector_path, "sector contents map does not match the s-bucket sizes of the metadata")
    return contents_map


def read_record_metadata(sector_path, metadata: SectorMetadata, piece_offset: int, params: Params) -> RecordMetadata:
    """The commitment, witness and piece checksum of one record."""
    offset = record_metadata_offset(piece_offset, metadata.pieces_in_sector, params)
    return RecordMetadata.decode(read_at(sector_path, offset, RECORD_METADATA_SIZE, f"record {piece_offset} metadata"))


def read_record_chunks(
    sector_path,
    metadata: SectorMetadata,
    contents_map: SectorContentsMap,
    piece_offset: int,
    params: Params,
    table=None,
    sector_id: bytes | None = None,
) -> list[bytes | None]:
    """`read_sector_record_chunks`: the decoded chunk of one record in every s-bucket, None
    where the record has none (spec §6 "Proving" 1-2). The PoS table is rebuilt from the
    evaluation seed unless given."""
    if not 0 <= piece_offset < metadata.pieces_in_sector:
        raise ValueError(f"piece offset {piece_offset} is outside the sector ({metadata.pieces_in_sector} pieces)")
    present = contents_map.present()[piece_offset]
    s_buckets = np.nonzero(present)[0]
    locations = metadata.s_bucket_offsets()[s_buckets] + contents_map.rank_in_s_bucket()[piece_offset, s_buckets]
    base = sector_contents_map_size(metadata.pieces_in_sector, params)
    region_size = 32 * int(metadata.s_bucket_sizes.astype(np.int64).sum())
    if os.path.getsize(sector_path) < base + region_size:
        raise TruncatedSector(sector_path, "file ends inside the s-bucket region")
    # Gather the record's chunks through a memory map: only the pages holding them are read.
    with open(sector_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        region = np.frombuffer(mm, dtype=np.uint8, count=region_size, offset=base).reshape(-1, 32)
        raw = region[locations].copy()
        del region
    if table is None:
        if sector_id is None:
            raise ValueError("need the PoS table or the sector id to decode a record")
        table = pos_table(evaluation_seed(sector_id, piece_offset), params)
    try:
        decoded = decode_chunks(raw, s_buckets, contents_map.encoded[piece_offset, s_buckets], table, params)
    except LookupError as exc:
        raise CorruptedSector(sector_path, f"record {piece_offset}: {exc}") from None
    chunks: list[bytes | None] = [None] * params.num_s_buckets
    for s, chunk in zip(s_buckets, decoded):
        chunks[int(s)] = chunk.tobytes()
    return chunks


def recover_extended_record(chunks: list[bytes | None]) -> bytes:
    """All NUM_S_BUCKETS values of a record from the NUM_CHUNKS it stores (erasure recovery;
    `recover_extended_record_chunks`)."""
    return erasure.recover(chunks)


def read_piece(sector_path, metadata: SectorMetadata, piece_offset: int, sector_id: bytes, params: Params) -> bytes:
    """Read one record back and rebuild its piece (`read_piece`): decode the chunks, recover the
    source record by erasure decoding, append commitment and witness, and check the piece
    against its stored checksum."""
    contents_map = read_contents_map(sector_path, metadata, params)
    chunks = read_record_chunks(sector_path, metadata, contents_map, piece_offset, params, sector_id=sector_id)
    try:
        extended = recover_extended_record(chunks)
    except Exception as exc:  # an undecodable record is a corrupted sector
        raise CorruptedSector(sector_path, f"record {piece_offset} cannot be erasure-decoded: {exc}") from None
    record = b"".join(extended[64 * j : 64 * j + 32] for j in range(params.num_chunks))
    record_metadata = read_record_metadata(sector_path, metadata, piece_offset, params)
    piece = record + record_metadata.commitment + record_metadata.witness
    if blake3(piece).digest() != record_metadata.piece_checksum:
        raise CorruptedSector(sector_path, f"record {piece_offset} does not match its piece checksum")
    return piece


def verify_sector_checksum(sector_path, metadata: SectorMetadata, params: Params) -> None:
    """Check the sector file's size and its trailing blake3 of everything before it."""
    expected = sector_size(metadata.pieces_in_sector, params)
    actual = os.path.getsize(sector_path)
    if actual != expected:
        raise TruncatedSector(sector_path, f"sector file is {actual} bytes, expected {expected}")
    with open(sector_path, "rb") as f:
        data = f.read()
    if blake3(data[:-CHECKSUM_SIZE], max_threads=blake3.AUTO).digest() != data[-CHECKSUM_SIZE:]:
        raise CorruptedSector(sector_path, "sector checksum mismatch")
