"""Farming: sector identifiers, piece selection, record encoding, the sector format, plotting,
audit and proving (spec/consensus.md §5, §6).

Modules, in the order of the protocol:

* `identifiers`: public_key_hash, sector_id, evaluation_seed, derive_piece_index / piece_index,
  sector expiration;
* `encoding`: record encoding with proofs of space (and decoding);
* `layout`: the sector contents map, the on-disk sector layout, SectorMetadata, typed errors;
* `plotting`: plot_sector (pieces -> sector bytes + metadata), writing the files;
* `reading`: reading s-buckets, records and pieces back;
* `audit`: slot challenge, audit distances (native kernel or numpy), audit_sector;
* `solution`: the Solution and its SCALE encoding;
* `proving`: candidates -> solutions.

`BACKEND` is the audit backend in use ("native" or "numpy").
"""

from chain.farming.audit import (
    BACKEND,
    AuditResult,
    audit_chunks,
    audit_distances,
    audit_sector,
    calculate_solution_distance,
    derive_global_challenge,
    global_challenge,
    global_randomness,
    is_within_solution_range,
    s_bucket_audit_index,
    sector_slot_challenge,
)
from chain.farming.identifiers import (
    derive_expiration_history_size,
    derive_piece_index,
    evaluation_seed,
    is_sector_expired,
    piece_index,
    piece_position,
    piece_segment_index,
    public_key_hash,
    sector_expiration_check_segment_index,
    sector_id,
)
from chain.farming.layout import (
    CorruptedSector,
    CorruptedSectorMetadata,
    RecordMetadata,
    SectorContentsMap,
    SectorError,
    SectorMetadata,
    TruncatedSector,
    metadata_path,
    read_s_bucket,
    read_sector_metadata,
    sector_size,
)
from chain.farming.encoding import EncodedRecord, encode_record
from chain.farming.plotting import PlottedSector, plot_sector, plot_sector_to_file, write_sector_files
from chain.farming.proving import prove_audit, prove_chunk
from chain.farming.reading import read_contents_map, read_piece, read_record_chunks, verify_sector_checksum
from chain.farming.solution import InvalidSolutionEncoding, Solution, proof_of_space_size, solution_size
