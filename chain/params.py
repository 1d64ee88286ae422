"""Every protocol constant of the consensus layer, in one frozen dataclass, with presets.

Nothing else in `chain/` hard-codes a protocol number: rules take a `Params` (or the values
they need from one). Derived sizes are properties, so the invariants of spec/consensus.md §10
hold by construction and are checked in `Params.__post_init__`.

Presets (module-level instances):

* `MAINNET`: the live values (spec/consensus.md §1, §2, §4, §5, §7, with upstream file paths
  there). Record 1 MiB, 128 raw records per segment, K=20, 1000 pieces per sector.
* `DEV`: small enough that a laptop plots a sector in seconds, still real PoAS: real
  Chia-style PoS at K=16, real KZG over the Ethereum ceremony powers, real erasure coding.
* `TEST`: tiny sizes and the shim PoS table (spec §3 "Shim PoS") for fast unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

U64_MAX = (1 << 64) - 1


def pieces_to_solution_range(pieces: int, slot_probability: tuple[int, int], num_chunks: int) -> int:
    """The solution range at which `pieces` pieces win a slot with `slot_probability` (spec §7).

    `((u64::MAX / den * num) / NUM_CHUNKS * NUM_S_BUCKETS) / pieces`, evaluated left to right
    in integer arithmetic (`sp_consensus_subspace::pieces_to_solution_range`).
    """
    if pieces <= 0:
        raise ValueError(f"pieces must be positive, got {pieces}")
    num, den = slot_probability
    return ((U64_MAX // den * num) // num_chunks * (2 * num_chunks)) // pieces


@dataclass(frozen=True)
class Params:
    """The consensus constants (spec/consensus.md §10: derive everything else from these)."""

    name: str

    # --- Records, segments, pieces (spec §1, §4) ---
    #: `RawRecord::NUM_CHUNKS` = `Record::NUM_CHUNKS` (power of two).
    num_chunks: int
    #: `RecordedHistorySegment::NUM_RAW_RECORDS` (power of two).
    num_raw_records: int

    # --- Proof-of-Space (spec §3) ---
    #: Chia table size K (`PosProof::K`).
    pos_k: int
    #: Use the shim table (spec §3 "Shim PoS") instead of the Chia tables; tests only.
    pos_shim: bool

    # --- Plotting and farming (spec §5) ---
    max_pieces_in_sector: int
    recent_segments: int
    recent_history_fraction: tuple[int, int]
    min_sector_lifetime: int

    # --- Proof-of-Time (spec §2) ---
    pot_iterations: int
    pot_entropy_injection_interval: int
    pot_entropy_injection_lookback_depth: int
    pot_entropy_injection_delay: int
    block_authoring_delay: int
    pot_max_slots_in_the_future: int

    # --- Archiving and chain rules (spec §4, §7, §8) ---
    confirmation_depth_k: int
    slot_probability: tuple[int, int]
    era_duration: int
    expected_votes_per_block: int
    #: Pieces assumed at genesis to derive the initial solution range (spec §7).
    initial_solution_range_pieces: int
    #: Overrides the derived initial range (e.g. u64::MAX: "any solution is valid").
    initial_solution_range_override: int | None = None

    # --- Fixed by the formats (spec §1) ---
    raw_chunk_size: int = 31
    chunk_size: int = 32
    erasure_coding_rate: tuple[int, int] = (1, 2)
    pot_checkpoints: int = 8
    commitment_size: int = 48

    def __post_init__(self) -> None:
        """The invariants of spec §10."""
        problems = []
        for field in ("num_chunks", "num_raw_records"):
            value = getattr(self, field)
            if value < 1 or value & (value - 1):
                problems.append(f"{field}={value} is not a power of two")
        if self.pot_iterations % (2 * self.pot_checkpoints):
            problems.append(f"pot_iterations={self.pot_iterations} is not a multiple of 16")
        if not (
            self.pot_entropy_injection_interval
            > self.pot_entropy_injection_delay
            > self.block_authoring_delay + 1
        ):
            problems.append("entropy interval > delay > authoring delay + 1 does not hold")
        if not self.pos_shim and not 15 <= self.pos_k <= 25:
            problems.append(f"pos_k={self.pos_k} is outside 15..25")
        if not self.pos_shim and (1 << self.pos_k) < self.num_s_buckets:
            problems.append(f"pos_k={self.pos_k} < log2(num_s_buckets={self.num_s_buckets})")
        if self.max_pieces_in_sector < 1 or self.max_pieces_in_sector > 0xFFFF:
            problems.append(f"max_pieces_in_sector={self.max_pieces_in_sector} is not a u16 >= 1")
        if problems:
            raise ValueError(f"invalid Params {self.name!r}: " + "; ".join(problems))

    # --- Derived sizes ---
    @property
    def num_s_buckets(self) -> int:
        """`Record::NUM_S_BUCKETS` = NUM_CHUNKS x 2 (erasure coding rate 1/2)."""
        num, den = self.erasure_coding_rate
        return self.num_chunks * den // num

    @property
    def num_pieces(self) -> int:
        """`ArchivedHistorySegment::NUM_PIECES` = NUM_RAW_RECORDS x 2."""
        num, den = self.erasure_coding_rate
        return self.num_raw_records * den // num

    @property
    def raw_record_size(self) -> int:
        return self.num_chunks * self.raw_chunk_size

    @property
    def record_size(self) -> int:
        return self.num_chunks * self.chunk_size

    @property
    def segment_size(self) -> int:
        """`RecordedHistorySegment::SIZE`: the bytes of history one segment archives."""
        return self.num_raw_records * self.raw_record_size

    @property
    def piece_size(self) -> int:
        """record || record commitment || record witness."""
        return self.record_size + 2 * self.commitment_size

    @property
    def pos_proof_size(self) -> int:
        """64 x-values of K bits each; the shim table's proofs are always 160 bytes (spec §3)."""
        return 160 if self.pos_shim else 64 * self.pos_k // 8

    @property
    def initial_solution_range(self) -> int:
        if self.initial_solution_range_override is not None:
            return self.initial_solution_range_override
        return pieces_to_solution_range(
            self.initial_solution_range_pieces, self.slot_probability, self.num_chunks
        )

    def with_(self, **changes) -> Params:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


#: The live network (spec/consensus.md; `crates/subspace-runtime/src/lib.rs`,
#: `crates/subspace-core-primitives/src/{pieces,segments}.rs`, `chain_spec.rs`).
MAINNET = Params(
    name="mainnet",
    num_chunks=1 << 15,
    num_raw_records=128,
    pos_k=20,
    pos_shim=False,
    max_pieces_in_sector=1000,
    recent_segments=5,
    recent_history_fraction=(1, 10),
    min_sector_lifetime=4,
    pot_iterations=206_557_520,
    pot_entropy_injection_interval=50,
    pot_entropy_injection_lookback_depth=2,
    pot_entropy_injection_delay=15,
    block_authoring_delay=4,
    pot_max_slots_in_the_future=10,
    confirmation_depth_k=100,
    slot_probability=(1, 6),
    era_duration=2016,
    expected_votes_per_block=9,
    initial_solution_range_pieces=1000,
)

#: A laptop dev network: 8 KiB records, 8 raw records per segment, real K=16 PoS, real KZG.
#: PoT at 2^24 iterations per slot (about a quarter second with AES-NI).
DEV = Params(
    name="dev",
    num_chunks=1 << 8,
    num_raw_records=8,
    pos_k=16,
    pos_shim=False,
    max_pieces_in_sector=16,
    recent_segments=5,
    recent_history_fraction=(1, 10),
    min_sector_lifetime=4,
    pot_iterations=1 << 24,
    pot_entropy_injection_interval=5,
    pot_entropy_injection_lookback_depth=2,
    pot_entropy_injection_delay=4,
    block_authoring_delay=2,
    pot_max_slots_in_the_future=10,
    confirmation_depth_k=5,
    slot_probability=(1, 2),
    era_duration=16,
    expected_votes_per_block=9,
    initial_solution_range_pieces=16,
)

#: Unit tests: the shim PoS table, 1 KiB records, 4 raw records per segment, 512 PoT
#: iterations (`sc-proof-of-time` verifier tests), the pallet-mock chain constants.
TEST = Params(
    name="test",
    num_chunks=1 << 5,
    num_raw_records=4,
    pos_k=16,
    pos_shim=True,
    max_pieces_in_sector=8,
    recent_segments=5,
    recent_history_fraction=(1, 10),
    min_sector_lifetime=4,
    pot_iterations=512,
    pot_entropy_injection_interval=5,
    pot_entropy_injection_lookback_depth=2,
    pot_entropy_injection_delay=4,
    block_authoring_delay=2,
    pot_max_slots_in_the_future=10,
    confirmation_depth_k=5,
    slot_probability=(3, 10),
    era_duration=4,
    expected_votes_per_block=9,
    initial_solution_range_pieces=1,
)

PRESETS = {p.name: p for p in (MAINNET, DEV, TEST)}
