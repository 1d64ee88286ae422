"""Sector identifiers and the piece-selection rules (spec/consensus.md §5 "Identifiers",
"Piece selection", "Sector expiration"; `crates/subspace-core-primitives/src/sectors.rs`).

History sizes are counted in segments (`HistorySize`, non-zero); piece indices are
`segment_index * num_pieces + position` (spec §1).
"""

from __future__ import annotations

from blake3 import blake3

from chain.params import Params


def _blake3(data: bytes) -> bytes:
    return blake3(data).digest()


def _keyed(key: bytes, data: bytes) -> bytes:
    return blake3(data, key=key).digest()


def _u256_le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def public_key_hash(public_key: bytes) -> bytes:
    """`public_key_hash = blake3(public_key32)` (spec §5 "Identifiers")."""
    if len(public_key) != 32:
        raise ValueError(f"public key must be 32 bytes, got {len(public_key)}")
    return _blake3(public_key)


def sector_id(public_key_hash: bytes, sector_index: int, history_size: int) -> bytes:
    """`sector_id = keyed(public_key_hash, u16_le(sector_index) || u64_le(history_size))`
    (spec §5 "Identifiers"; `SectorId::new`). `history_size` is the chain history size, in
    segments, when plotting of the sector starts."""
    if len(public_key_hash) != 32:
        raise ValueError(f"public key hash must be 32 bytes, got {len(public_key_hash)}")
    if not 0 <= sector_index <= 0xFFFF:
        raise ValueError(f"sector_index {sector_index} is not a u16")
    if not 1 <= history_size < 1 << 64:
        raise ValueError(f"history_size {history_size} is not a non-zero u64")
    return _keyed(public_key_hash, sector_index.to_bytes(2, "little") + history_size.to_bytes(8, "little"))


def evaluation_seed(sector_id: bytes, piece_offset: int) -> bytes:
    """The PoS seed of one record: `blake3(sector_id || u16_le(piece_offset))`
    (spec §3 "Construction", §5; `SectorId::derive_evaluation_seed`)."""
    return _blake3(sector_id + piece_offset.to_bytes(2, "little"))


def derive_piece_index(
    sector_id: bytes,
    piece_offset: int,
    history_size: int,
    max_pieces_in_sector: int,
    recent_segments: int,
    recent_history_fraction: tuple[int, int],
    num_pieces: int,
) -> int:
    """The piece of history stored at `piece_offset` of a sector (spec §5 "Piece selection";
    `SectorId::derive_piece_index`).

    `h = U256_le(keyed(u16_le(piece_offset) || 0^30, sector_id))`. Odd offsets below the
    interleaved count take a piece from the most recent `recent_segments` segments, once the
    history is large enough for them to be at most `recent_history_fraction` of it; every other
    offset takes `h mod history_in_pieces`.
    """
    num, den = recent_history_fraction
    recent_in_pieces = recent_segments * num_pieces
    min_history_in_pieces = recent_in_pieces * (den * num_pieces) // (num * num_pieces)
    h = _u256_le(_keyed(piece_offset.to_bytes(2, "little") + bytes(30), sector_id))
    history_in_pieces = history_size * num_pieces
    num_interleaved = max(1, max_pieces_in_sector * (num * num_pieces) // (den * num_pieces) * 2)
    if history_in_pieces > min_history_in_pieces and piece_offset < num_interleaved and piece_offset % 2 == 1:
        return h % recent_in_pieces + (history_in_pieces - recent_in_pieces)
    return h % history_in_pieces


def piece_index(sector_id: bytes, piece_offset: int, history_size: int, params: Params) -> int:
    """`derive_piece_index` with the constants of `params` (spec §5 "Piece selection")."""
    return derive_piece_index(
        sector_id,
        piece_offset,
        history_size,
        params.max_pieces_in_sector,
        params.recent_segments,
        params.recent_history_fraction,
        params.num_pieces,
    )


def piece_segment_index(piece_index: int, params: Params) -> int:
    """The segment a piece belongs to: `piece_index / num_pieces` (spec §1)."""
    return piece_index // params.num_pieces


def piece_position(piece_index: int, params: Params) -> int:
    """The position of a piece in its segment: `piece_index mod num_pieces` (spec §1)."""
    return piece_index % params.num_pieces


def sector_expiration_check_history_size(history_size: int, min_sector_lifetime: int) -> int:
    """`history_size + MIN_SECTOR_LIFETIME`: the history size at which expiration is decided
    (spec §5 "Sector expiration"; `HistorySize::sector_expiration_check`)."""
    return history_size + min_sector_lifetime


def sector_expiration_check_segment_index(history_size: int, min_sector_lifetime: int) -> int:
    """The segment whose commitment decides a sector's expiration: `check - 1` (spec §5, §6
    piece check c)."""
    return sector_expiration_check_history_size(history_size, min_sector_lifetime) - 1


def derive_expiration_history_size(
    sector_id: bytes, history_size: int, expiration_check_segment_commitment: bytes, min_sector_lifetime: int
) -> int | None:
    """The history size at which a sector expires (spec §5 "Sector expiration";
    `SectorId::derive_expiration_history_size`).

    `check = history_size + min_lifetime`; `h = U256_le(blake3(sector_id || commitment of
    segment check - 1))`; `expires = check + h mod (min_lifetime + 4*history_size - check)`.
    None when that modulus is not positive (upstream: `checked_sub` fails), which verification
    reports as an invalid history size.
    """
    check = sector_expiration_check_history_size(history_size, min_sector_lifetime)
    last_possible_expiration = min_sector_lifetime + 4 * history_size
    window = last_possible_expiration - check
    if window <= 0:
        return None
    h = _u256_le(_blake3(sector_id + expiration_check_segment_commitment))
    return check + h % window


def is_sector_expired(expiration_history_size: int, current_history_size: int) -> bool:
    """A sector is expired once `expires <= current_history_size` (spec §5 "Sector expiration")."""
    return expiration_history_size <= current_history_size
