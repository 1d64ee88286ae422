"""Plotting a sector (spec/consensus.md §5; `crates/subspace-farmer-components/src/plotting.rs`).

`plot_sector` is pure: pieces come from a `piece_getter(piece_index) -> bytes` callable and the
result is the sector's bytes and metadata. `write_sector_files` puts them on disk.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
from blake3 import blake3

from chain.farming.encoding import EncodedRecord, encode_record
from chain.farming.identifiers import evaluation_seed, piece_index, sector_id as derive_sector_id
from chain.farming.layout import (
    COMMITMENT_SIZE,
    RecordMetadata,
    SectorContentsMap,
    SectorMetadata,
    metadata_path,
    sector_size,
)
from chain.files import write_atomically
from chain.params import Params


@dataclass(frozen=True)
class PlottedSector:
    """A plotted sector: its identity, the pieces it holds, its bytes and metadata."""

    sector_id: bytes
    sector_index: int
    piece_indices: list[int]
    metadata: SectorMetadata
    sector: bytes


def split_piece(piece: bytes, params: Params) -> tuple[bytes, bytes, bytes]:
    """A piece is `record || commitment48 || witness48` (spec §1, §4 "Pieces")."""
    if len(piece) != params.piece_size:
        raise ValueError(f"piece is {len(piece)} bytes, expected {params.piece_size}")
    r = params.record_size
    return bytes(piece[:r]), bytes(piece[r : r + COMMITMENT_SIZE]), bytes(piece[r + COMMITMENT_SIZE :])


def sector_piece_indices(sector_id: bytes, pieces_in_sector: int, history_size: int, params: Params) -> list[int]:
    """The piece index of every offset of a sector (spec §5 "Piece selection")."""
    return [piece_index(sector_id, offset, history_size, params) for offset in range(pieces_in_sector)]


def write_s_buckets(records: list[EncodedRecord], contents_map: SectorContentsMap, params: Params) -> bytes:
    """Lay the records' chunks out as s-buckets (`write_sector`): s-bucket by s-bucket, the chunk
    of every record that has one there, in piece-offset order. A record's stored chunks are its
    encoded ones (in s-bucket order) followed by its unencoded ones (in s-bucket order)."""
    present = contents_map.present()
    sizes = present.sum(axis=0)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = contents_map.rank_in_s_bucket()
    region = np.zeros((int(sizes.sum()), 32), dtype=np.uint8)
    for p, record in enumerate(records):
        s_buckets = np.nonzero(present[p])[0]
        enc = contents_map.encoded[p, s_buckets]
        num_encoded = int(enc.sum())
        position = np.where(enc, np.cumsum(enc) - 1, num_encoded + np.cumsum(~enc) - 1)
        region[offsets[s_buckets] + rank[p, s_buckets]] = record.chunks[position]
    return region.tobytes()


def plot_sector(
    public_key_hash: bytes,
    sector_index: int,
    history_size: int,
    pieces_in_sector: int,
    piece_getter: Callable[[int], bytes],
    params: Params,
    workers: int | None = None,
) -> PlottedSector:
    """Plot one sector (spec §5): derive the sector id and its pieces, fetch each piece, encode
    its record with the PoS table of its evaluation seed, and lay out contents map, s-buckets,
    record metadata and checksum.

    Records are encoded on `workers` threads (default: one per CPU); the PoS table builder and
    the erasure coder release the GIL, as upstream runs one table generator per core."""
    if not 1 <= pieces_in_sector <= params.max_pieces_in_sector:
        raise ValueError(f"pieces_in_sector {pieces_in_sector} is outside 1..{params.max_pieces_in_sector}")
    sid = derive_sector_id(public_key_hash, sector_index, history_size)
    indices = sector_piece_indices(sid, pieces_in_sector, history_size, params)
    raw_records, record_metadata = [], []
    for index in indices:
        piece = piece_getter(index)
        record, commitment, witness = split_piece(piece, params)
        raw_records.append(record)
        record_metadata.append(RecordMetadata(commitment, witness, blake3(bytes(piece)).digest()))
    workers = workers or os.cpu_count() or 1
    encode = lambda offset: encode_record(raw_records[offset], evaluation_seed(sid, offset), params)  # noqa: E731
    if workers == 1 or pieces_in_sector == 1:
        records = [encode(offset) for offset in range(pieces_in_sector)]
    else:
        with ThreadPoolExecutor(min(workers, pieces_in_sector)) as pool:
            records = list(pool.map(encode, range(pieces_in_sector)))
    contents_map = SectorContentsMap(np.stack([r.encoded for r in records]), params.num_chunks)
    body = (
        contents_map.encode()
        + write_s_buckets(records, contents_map, params)
        + b"".join(m.encode() for m in record_metadata)
    )
    sector = body + blake3(body, max_threads=blake3.AUTO).digest()
    assert len(sector) == sector_size(pieces_in_sector, params)
    metadata = SectorMetadata(sector_index, pieces_in_sector, contents_map.s_bucket_sizes(), history_size)
    return PlottedSector(sid, sector_index, indices, metadata, sector)


def write_sector_files(sector_path, plotted: PlottedSector) -> None:
    """Write the sector to `sector_path` and its metadata next to it (`<path>.meta`), each
    atomically (`chain.files.write_atomically`)."""
    write_atomically(sector_path, plotted.sector)
    write_atomically(metadata_path(sector_path), plotted.metadata.encode())


def plot_sector_to_file(
    sector_path,
    public_key_hash: bytes,
    sector_index: int,
    history_size: int,
    pieces_in_sector: int,
    piece_getter: Callable[[int], bytes],
    params: Params,
) -> PlottedSector:
    """`plot_sector`, then `write_sector_files`."""
    plotted = plot_sector(public_key_hash, sector_index, history_size, pieces_in_sector, piece_getter, params)
    write_sector_files(sector_path, plotted)
    return plotted
