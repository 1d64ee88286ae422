"""Turning audit candidates into solutions (spec/consensus.md §6 "Proving";
`crates/subspace-farmer-components/src/proving.rs`)."""

from __future__ import annotations

from typing import Iterator

from chain import erasure
from chain.farming.audit import AuditResult
from chain.farming.encoding import pos_table
from chain.farming.identifiers import evaluation_seed
from chain.farming.layout import CorruptedSector, SectorContentsMap, SectorMetadata
from chain.farming.reading import read_contents_map, read_record_chunks, read_record_metadata
from chain.farming.solution import Solution
from chain.params import Params


def winning_chunks(audit: AuditResult, contents_map: SectorContentsMap) -> list[tuple[int, int, int]]:
    """`(piece_offset, chunk_offset, distance)` of the candidates that can be proven: only
    encoded chunks carry a proof of space (spec §6 "Audit"), best distance first."""
    records = contents_map.s_bucket_records(audit.s_bucket)
    out = []
    for chunk_offset, distance in audit.candidates:
        piece_offset, encoded = records[chunk_offset]
        if encoded:
            out.append((piece_offset, chunk_offset, distance))
    return out


def chunk_witness(kzg, record_poly, s_bucket: int, params: Params) -> bytes:
    """The KZG opening of the record polynomial (through the NUM_S_BUCKETS s-bucket values,
    degree < NUM_CHUNKS) at `omega_{NUM_S_BUCKETS}^s_bucket` (spec §6 "Proving" 3)."""
    return kzg.create_witness(record_poly, params.num_s_buckets, s_bucket)


def prove_chunk(
    public_key: bytes,
    reward_address: bytes,
    sector_path,
    metadata: SectorMetadata,
    contents_map: SectorContentsMap,
    sector_id: bytes,
    s_bucket: int,
    piece_offset: int,
    kzg,
    params: Params,
    table=None,
) -> Solution:
    """One solution (spec §6 "Proving"): rebuild the record's PoS table, read and decode its
    chunks, recover the record polynomial by erasure decoding (`recover_poly`), open it at the
    audited s-bucket, and attach the record's commitment and witness. `table`: the record's
    PoS table if the caller kept it (it must be the table of the record's evaluation seed)."""
    if table is None:
        table = pos_table(evaluation_seed(sector_id, piece_offset), params)
    chunks = read_record_chunks(sector_path, metadata, contents_map, piece_offset, params, table=table)
    chunk = chunks[s_bucket]
    proof = table.find_proof(s_bucket)
    if chunk is None or proof is None:
        raise CorruptedSector(sector_path, f"record {piece_offset} has no encoded chunk in s-bucket {s_bucket}")
    try:
        record_poly = erasure.recover_poly(chunks)
    except Exception as exc:
        raise CorruptedSector(sector_path, f"record {piece_offset} cannot be erasure-decoded: {exc}") from None
    record_metadata = read_record_metadata(sector_path, metadata, piece_offset, params)
    return Solution(
        public_key=public_key,
        reward_address=reward_address,
        sector_index=metadata.sector_index,
        history_size=metadata.history_size,
        piece_offset=piece_offset,
        record_commitment=record_metadata.commitment,
        record_witness=record_metadata.witness,
        chunk=chunk,
        chunk_witness=chunk_witness(kzg, record_poly, s_bucket, params),
        proof_of_space=proof,
    )


def prove_audit(
    audit: AuditResult,
    public_key: bytes,
    reward_address: bytes,
    sector_path,
    metadata: SectorMetadata,
    kzg,
    params: Params,
) -> Iterator[Solution]:
    """The solutions of one audited sector, best distance first (`SolutionCandidates::
    into_solutions`). Lazy: each solution costs a PoS table and an erasure decode."""
    contents_map = read_contents_map(sector_path, metadata, params)
    for piece_offset, _chunk_offset, _distance in winning_chunks(audit, contents_map):
        yield prove_chunk(
            public_key, reward_address, sector_path, metadata, contents_map,
            audit.sector_id, audit.s_bucket, piece_offset, kzg, params,
        )
