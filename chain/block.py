"""Consensus-chain blocks: the Substrate header and digest, the Subspace pre-digest, consensus
logs, seal and PoT justification, blocks and signed blocks, and the block errors
(spec/consensus.md §8 "Header", "claim_slot"; §6 for the solution inside the pre-digest).

Encodings (SCALE, `chain/scale.py`; byte-compatible with Substrate / `sp-consensus-subspace`
except where marked *differs*):

* `Header` = `parent_hash` [32] ‖ `number` Compact<u32> ‖ `state_root` [32] ‖
  `extrinsics_root` [32] ‖ `digest` Vec<DigestItem>.  `Header.hash()` = BLAKE2b-256 of that.
* `DigestItem` (enum, Substrate indices): `Other(Vec<u8>)` = 0x00 ‖ Vec<u8>;
  `Consensus(engine, data)` = 0x04 ‖ engine [4] ‖ Vec<u8>; `Seal(engine, data)` = 0x05 ‖ engine
  [4] ‖ Vec<u8>; `PreRuntime(engine, data)` = 0x06 ‖ engine [4] ‖ Vec<u8>;
  `RuntimeEnvironmentUpdated` = 0x08.  Subspace uses engine id `ENGINE_ID` = b"SUB_".
* Pre-digest (`PreRuntime(SUB_, …)`): `PreDigest::V0` = 0x00 ‖ slot u64 ‖ Solution (the
  `chain.farming.Solution` encoding, 252 + pos_proof_size bytes) ‖ `PreDigestPotInfo::V0` =
  0x00 ‖ proof_of_time [16] ‖ future_proof_of_time [16].
* Consensus logs (`Consensus(SUB_, …)`), `ConsensusLog` index byte then the payload:
  0 `PotSlotIterations(NonZeroU32)` u32; 1 `SolutionRange(u64)`; 2 `PotParametersChange{slot
  u64, slot_iterations NonZeroU32, entropy [32]}`; 3 `NextSolutionRange(u64)`;
  4 `SegmentCommitment((SegmentIndex u64, SegmentCommitment [48]))`;
  5 `EnableSolutionRangeAdjustmentAndOverride(Option<u64>)`;
  6 `RootPlotPublicKeyUpdate(Option<[32]>)`.
* Seal: the last digest item, `Seal(SUB_, signature [64])` (the signature's own encoding is its
  64 raw bytes, so the item is 0x05 ‖ "SUB_" ‖ Compact(64) ‖ sig).  It signs
  b"subspace_reward" ‖ pre_seal_hash, where pre_seal_hash is the hash of the header without the
  seal item (*differs*: Ed25519 instead of sr25519, `chain/keys.py`).
* Justification: `SubspaceJustification::PotCheckpoints{seed [16], checkpoints
  Vec<[[16]; 8]>}` = 0x00 ‖ seed ‖ Compact(n) ‖ n × 128 bytes.
* `Block` = Header ‖ Vec<Vec<u8>> (each extrinsic is opaque, already-encoded bytes, carried with
  a compact length prefix).
* `SignedBlock` = Block ‖ Option<Justifications>, Justifications = Vec<(engine [4], Vec<u8>)>.
  Here: None when there is no justification, else exactly one pair (SUB_, justification
  encoding); other engines and an empty list are rejected (so decode∘encode is the identity).
* `extrinsics_root` (*differs*: Substrate uses its own trie layout with BLAKE2b): the root of an
  Ethereum hexary Merkle-Patricia trie (the `trie` package, `HexaryTrie`, keccak-256, RLP
  nodes) with key = SCALE `Compact(index)` and value = the extrinsic's bytes (the "ordered trie
  root" of Substrate with the `trie` package's node format).  The empty list gives the empty
  trie root `BLANK_ROOT` (keccak of RLP of b"").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Iterable, Sequence, Union

from chain import scale
from chain.farming.solution import InvalidSolutionEncoding, Solution, solution_size
from chain.keys import SIGNATURE_SIZE, Signer, sign_reward, verify_reward_signature
from chain.params import Params
from chain.scale import ScaleError
from chain.trie_roots import ordered_trie_root_and_nodes

__all__ = [
    "ENGINE_ID",
    "NUM_CHECKPOINTS",
    "blake2_256",
    "short_hex",
    # errors
    "InvalidBlock",
    "InvalidEncoding",
    "InvalidSeal",
    "InvalidPreDigest",
    "InvalidPotJustification",
    "InvalidPotSeed",
    "InvalidSolutionForSlot",
    "SolutionOutOfRange",
    "WrongSegmentHeaders",
    "FutureSlot",
    "SlotNotIncreasing",
    "WrongStateRoot",
    "WrongExtrinsicsRoot",
    "WrongConsensusLogs",
    "UnknownParent",
    # consensus logs
    "PotSlotIterations",
    "SolutionRange",
    "PotParametersChange",
    "NextSolutionRange",
    "SegmentCommitment",
    "EnableSolutionRangeAdjustmentAndOverride",
    "RootPlotPublicKeyUpdate",
    "ConsensusLog",
    "encode_consensus_log",
    "decode_consensus_log",
    # pre-digest
    "PotInfo",
    "PreDigest",
    # digest
    "PreRuntime",
    "Consensus",
    "Seal",
    "Other",
    "RuntimeEnvironmentUpdated",
    "DigestItem",
    "encode_digest_item",
    "decode_digest_item",
    "pre_digest_item",
    "consensus_log_item",
    "make_digest",
    # header, blocks
    "Header",
    "PotCheckpointsJustification",
    "Block",
    "SignedBlock",
    "extrinsics_root",
    "BLANK_ROOT",
    "seal_header",
    "check_seal",
]

#: `SUBSPACE_ENGINE_ID`: the consensus engine id of Subspace digests and justifications.
ENGINE_ID = b"SUB_"
#: `PotCheckpoints::NUM_CHECKPOINTS` (spec §1).
NUM_CHECKPOINTS = 8
_POT_SIZE = 16
_HASH_SIZE = 32
_PUBLIC_KEY_SIZE = 32
_COMMITMENT_SIZE = 48
_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1


def blake2_256(data: bytes) -> bytes:
    """Substrate's `blake2_256`: BLAKE2b with a 32-byte digest (spec §0 "Hash functions")."""
    return hashlib.blake2b(bytes(data), digest_size=32).digest()


def short_hex(value: bytes | None) -> str:
    """A short display form of a hash: `0x1234abcd…9f0e` (first 4 and last 2 bytes)."""
    if value is None:
        return "?"
    h = bytes(value).hex()
    return f"0x{h}" if len(h) <= 12 else f"0x{h[:8]}…{h[-4:]}"


def block_label(number: int | None, block_hash: bytes | None) -> str:
    """`#12 (0x1234abcd…9f0e)`, with whichever parts are known."""
    parts = []
    if number is not None:
        parts.append(f"#{number}")
    if block_hash is not None:
        parts.append(f"({short_hex(block_hash)})" if parts else short_hex(block_hash))
    return " ".join(parts) if parts else "block"


# =============================================================================================
# Errors (the node raises these during import; spec §8)


class InvalidBlock(Exception):
    """A block that breaks a consensus rule. The message names the block and what failed.

    `InvalidBlock(what, number=..., block_hash=...)`: `str(err)` is
    "block #12 (0x1234abcd…9f0e): <what>"; `err.what`, `err.number`, `err.block_hash` keep the parts.
    """

    def __init__(self, what: str, *, number: int | None = None, block_hash: bytes | None = None):
        self.what = what
        self.number = number
        self.block_hash = block_hash
        if number is None and block_hash is None:
            message = what
        else:
            message = f"block {block_label(number, block_hash)}: {what}"
        super().__init__(message)

    def at(self, number: int | None = None, block_hash: bytes | None = None) -> InvalidBlock:
        """The same error (same type) annotated with the block's number and hash."""
        return type(self)(
            self.what,
            number=self.number if number is None else number,
            block_hash=self.block_hash if block_hash is None else block_hash,
        )


class InvalidEncoding(InvalidBlock, ValueError):
    """The bytes are not a valid encoding of the block part (the message says what and where)."""


class InvalidSeal(InvalidBlock):
    """Missing, malformed or wrong seal (spec §8 "Header": the reward signature)."""


class InvalidPreDigest(InvalidBlock):
    """Missing, duplicated or undecodable Subspace pre-digest (spec §8 "Header")."""


class InvalidPotJustification(InvalidBlock):
    """PoT checkpoints in the justification are missing, miscounted or wrong (spec §8 "PoT checks")."""


class InvalidPotSeed(InvalidPotJustification):
    """The justification seed does not follow from the parent's future PoT (spec §8 "PoT checks")."""


class InvalidSolutionForSlot(InvalidBlock):
    """The pre-digest solution does not verify for its slot (spec §6 "Node verification")."""


class SolutionOutOfRange(InvalidSolutionForSlot):
    """The solution's distance exceeds solution_range / 2 (spec §6 step 6)."""


class WrongSegmentHeaders(InvalidBlock):
    """The block's segment headers / SegmentCommitment logs do not match the local archive (spec §8)."""


class FutureSlot(InvalidBlock):
    """The block claims a slot beyond the node's current slot (spec §8 "claim_slot")."""


class TimestampInFuture(InvalidBlock):
    """The block's time is too far ahead of the importing node's clock."""


class SlotNotIncreasing(InvalidBlock):
    """The block's slot is not greater than its parent's (spec §8 "claim_slot")."""


class WrongStateRoot(InvalidBlock):
    """Executing the block gives a different state root than the header's (spec §8)."""


class WrongExtrinsicsRoot(InvalidBlock):
    """The header's extrinsics root is not the root of the block's extrinsics."""


class WrongConsensusLogs(InvalidBlock):
    """The header's consensus logs differ from the ones the runtime emitted (spec §7 "Header logs", §8)."""


class UnknownParent(InvalidBlock):
    """The parent block is not known to the node."""


def _decode_error(what: str, err: Exception) -> InvalidEncoding:
    return InvalidEncoding(f"{what}: {err}")


# =============================================================================================
# Consensus logs (spec §8 "Header", `ConsensusLog` indices)


def _check_uint(value, bits: int, what: str, nonzero: bool = False) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not (1 if nonzero else 0) <= value < 1 << bits:
        kind = f"non-zero u{bits}" if nonzero else f"u{bits}"
        raise ValueError(f"{what} must be a {kind}, got {value!r}")


def _check_bytes(value, size: int, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise ValueError(f"{what} must be {size} bytes, got {value!r:.40}")


@dataclass(frozen=True)
class PotSlotIterations:
    """Log 0: PoT iterations per slot for the slot after the parent's (`NonZeroU32`)."""

    slot_iterations: int
    INDEX = 0

    def __post_init__(self):
        _check_uint(self.slot_iterations, 32, "PotSlotIterations.slot_iterations", nonzero=True)

    def payload(self) -> bytes:
        return scale.encode_u32(self.slot_iterations)


@dataclass(frozen=True)
class SolutionRange:
    """Log 1: the solution range of this block (present in every header, spec §7)."""

    solution_range: int
    INDEX = 1

    def __post_init__(self):
        _check_uint(self.solution_range, 64, "SolutionRange.solution_range")

    def payload(self) -> bytes:
        return scale.encode_u64(self.solution_range)


@dataclass(frozen=True)
class PotParametersChange:
    """Log 2 and the runtime struct: a PoT parameter change taking effect at `slot`, with the
    entropy to inject (spec §2). `encode()` is the bare struct; the log adds the 0x02 index."""

    slot: int
    slot_iterations: int
    entropy: bytes
    INDEX = 2

    def __post_init__(self):
        _check_uint(self.slot, 64, "PotParametersChange.slot")
        _check_uint(self.slot_iterations, 32, "PotParametersChange.slot_iterations", nonzero=True)
        _check_bytes(self.entropy, 32, "PotParametersChange.entropy")

    def payload(self) -> bytes:
        return scale.encode_u64(self.slot) + scale.encode_u32(self.slot_iterations) + bytes(self.entropy)

    encode = payload

    @classmethod
    def decode_from(cls, data, offset: int) -> tuple[PotParametersChange, int]:
        slot, at = scale.decode_u64(data, offset, "PotParametersChange.slot")
        iterations, at = scale.decode_u32(data, at, "PotParametersChange.slot_iterations")
        if iterations == 0:
            raise ScaleError(f"PotParametersChange.slot_iterations at offset {at - 4}: zero (NonZeroU32)")
        entropy, at = scale.decode_fixed(data, at, 32, "PotParametersChange.entropy")
        return cls(slot, iterations, entropy), at

    @classmethod
    def decode(cls, data) -> PotParametersChange:
        try:
            value, at = cls.decode_from(data, 0)
            scale.ensure_consumed(data, at, "PotParametersChange")
        except ScaleError as err:
            raise _decode_error("PotParametersChange", err) from None
        return value


@dataclass(frozen=True)
class NextSolutionRange:
    """Log 3: the solution range computed for the next era (spec §7)."""

    solution_range: int
    INDEX = 3

    def __post_init__(self):
        _check_uint(self.solution_range, 64, "NextSolutionRange.solution_range")

    def payload(self) -> bytes:
        return scale.encode_u64(self.solution_range)


@dataclass(frozen=True)
class SegmentCommitment:
    """Log 4: a segment commitment stored by this block (spec §8 "Segment headers in blocks")."""

    segment_index: int
    segment_commitment: bytes
    INDEX = 4

    def __post_init__(self):
        _check_uint(self.segment_index, 64, "SegmentCommitment.segment_index")
        _check_bytes(self.segment_commitment, _COMMITMENT_SIZE, "SegmentCommitment.segment_commitment")

    def payload(self) -> bytes:
        return scale.encode_u64(self.segment_index) + bytes(self.segment_commitment)


@dataclass(frozen=True)
class EnableSolutionRangeAdjustmentAndOverride:
    """Log 5: solution range adjustment was enabled, with an optional override (spec §7)."""

    solution_range: int | None
    INDEX = 5

    def __post_init__(self):
        if self.solution_range is not None:
            _check_uint(self.solution_range, 64, "EnableSolutionRangeAdjustmentAndOverride.solution_range")

    def payload(self) -> bytes:
        return scale.encode_option(self.solution_range, scale.encode_u64)


@dataclass(frozen=True)
class RootPlotPublicKeyUpdate:
    """Log 6: the root plot public key changed (None: authoring opened to anyone)."""

    public_key: bytes | None
    INDEX = 6

    def __post_init__(self):
        if self.public_key is not None:
            _check_bytes(self.public_key, _PUBLIC_KEY_SIZE, "RootPlotPublicKeyUpdate.public_key")

    def payload(self) -> bytes:
        return scale.encode_option(self.public_key, bytes)


ConsensusLog = Union[
    PotSlotIterations,
    SolutionRange,
    PotParametersChange,
    NextSolutionRange,
    SegmentCommitment,
    EnableSolutionRangeAdjustmentAndOverride,
    RootPlotPublicKeyUpdate,
]


def encode_consensus_log(log: ConsensusLog) -> bytes:
    """`ConsensusLog::encode`: the variant index byte, then the payload."""
    return bytes([log.INDEX]) + log.payload()


def _decode_log_payload(index: int, data, at: int) -> tuple[ConsensusLog, int]:
    if index == 0:
        n, at = scale.decode_u32(data, at, "PotSlotIterations")
        if n == 0:
            raise ScaleError(f"PotSlotIterations at offset {at - 4}: zero (NonZeroU32)")
        return PotSlotIterations(n), at
    if index == 1:
        n, at = scale.decode_u64(data, at, "SolutionRange")
        return SolutionRange(n), at
    if index == 2:
        return PotParametersChange.decode_from(data, at)
    if index == 3:
        n, at = scale.decode_u64(data, at, "NextSolutionRange")
        return NextSolutionRange(n), at
    if index == 4:
        segment_index, at = scale.decode_u64(data, at, "SegmentCommitment.segment_index")
        commitment, at = scale.decode_fixed(data, at, _COMMITMENT_SIZE, "SegmentCommitment.segment_commitment")
        return SegmentCommitment(segment_index, commitment), at
    if index == 5:
        value, at = scale.decode_option(
            data, at, lambda d, o: scale.decode_u64(d, o, "override solution range"),
            "EnableSolutionRangeAdjustmentAndOverride",
        )
        return EnableSolutionRangeAdjustmentAndOverride(value), at
    if index == 6:
        value, at = scale.decode_option(
            data, at, lambda d, o: scale.decode_fixed(d, o, _PUBLIC_KEY_SIZE, "root plot public key"),
            "RootPlotPublicKeyUpdate",
        )
        return RootPlotPublicKeyUpdate(value), at
    raise ScaleError(f"consensus log at offset {at - 1}: unknown ConsensusLog index {index}")


def decode_consensus_log(data: bytes) -> ConsensusLog:
    """Inverse of `encode_consensus_log`; InvalidEncoding on unknown index, truncation, extra bytes."""
    try:
        index, at = scale.decode_u8(data, 0, "ConsensusLog index")
        log, at = _decode_log_payload(index, data, at)
        scale.ensure_consumed(data, at, "consensus log")
    except ScaleError as err:
        raise _decode_error("consensus log", err) from None
    return log


# =============================================================================================
# Pre-digest (spec §8 "Header")


@dataclass(frozen=True)
class PotInfo:
    """`PreDigestPotInfo::V0`: the PoT output of the block's slot and of slot + authoring delay."""

    proof_of_time: bytes
    future_proof_of_time: bytes

    def __post_init__(self):
        _check_bytes(self.proof_of_time, _POT_SIZE, "PotInfo.proof_of_time")
        _check_bytes(self.future_proof_of_time, _POT_SIZE, "PotInfo.future_proof_of_time")

    def encode(self) -> bytes:
        return b"\x00" + bytes(self.proof_of_time) + bytes(self.future_proof_of_time)


@dataclass(frozen=True)
class PreDigest:
    """`PreDigest::V0{slot, solution, pot_info}`: what the block author claims (spec §8)."""

    slot: int
    solution: Solution
    pot_info: PotInfo

    def __post_init__(self):
        _check_uint(self.slot, 64, "PreDigest.slot")
        if not isinstance(self.solution, Solution):
            raise ValueError("PreDigest.solution must be a chain.farming.Solution")
        if not isinstance(self.pot_info, PotInfo):
            raise ValueError("PreDigest.pot_info must be a PotInfo")

    @property
    def proof_of_time(self) -> bytes:
        return self.pot_info.proof_of_time

    @property
    def future_proof_of_time(self) -> bytes:
        return self.pot_info.future_proof_of_time

    def encode(self) -> bytes:
        return b"\x00" + scale.encode_u64(self.slot) + self.solution.encode() + self.pot_info.encode()

    @classmethod
    def decode(cls, data: bytes, params: Params) -> PreDigest:
        """Inverse of `encode`; the solution's size comes from `params` (its PoS proof size)."""
        try:
            version, at = scale.decode_u8(data, 0, "PreDigest version")
            if version != 0:
                raise ScaleError(f"PreDigest at offset 0: unknown version {version} (only V0)")
            slot, at = scale.decode_u64(data, at, "PreDigest.slot")
            raw_solution, sol_at = scale.decode_fixed(data, at, solution_size(params), "PreDigest.solution")
            try:
                solution = Solution.decode(raw_solution, params)
            except InvalidSolutionEncoding as err:
                raise ScaleError(f"PreDigest.solution at offset {at}: {err}") from None
            at = sol_at
            pot_version, at = scale.decode_u8(data, at, "PreDigestPotInfo version")
            if pot_version != 0:
                raise ScaleError(f"PreDigestPotInfo at offset {at - 1}: unknown version {pot_version} (only V0)")
            pot, at = scale.decode_fixed(data, at, _POT_SIZE, "PreDigestPotInfo.proof_of_time")
            future, at = scale.decode_fixed(data, at, _POT_SIZE, "PreDigestPotInfo.future_proof_of_time")
            scale.ensure_consumed(data, at, "pre-digest")
        except ScaleError as err:
            raise InvalidPreDigest(f"undecodable pre-digest: {err}") from None
        return cls(slot, solution, PotInfo(pot, future))


# =============================================================================================
# Digest items (Substrate `DigestItem`)


def _check_engine(engine, what: str) -> None:
    _check_bytes(engine, 4, f"{what}.engine")


@dataclass(frozen=True)
class PreRuntime:
    """`DigestItem::PreRuntime(engine, data)` (index 6): input to the runtime from the author."""

    engine: bytes
    data: bytes
    INDEX = 6

    def __post_init__(self):
        _check_engine(self.engine, "PreRuntime")


@dataclass(frozen=True)
class Consensus:
    """`DigestItem::Consensus(engine, data)` (index 4): a log from the runtime to consensus."""

    engine: bytes
    data: bytes
    INDEX = 4

    def __post_init__(self):
        _check_engine(self.engine, "Consensus")


@dataclass(frozen=True)
class Seal:
    """`DigestItem::Seal(engine, data)` (index 5): the author's signature, always last."""

    engine: bytes
    data: bytes
    INDEX = 5

    def __post_init__(self):
        _check_engine(self.engine, "Seal")


@dataclass(frozen=True)
class Other:
    """`DigestItem::Other(data)` (index 0)."""

    data: bytes
    INDEX = 0


@dataclass(frozen=True)
class RuntimeEnvironmentUpdated:
    """`DigestItem::RuntimeEnvironmentUpdated` (index 8), no payload."""

    INDEX = 8


DigestItem = Union[PreRuntime, Consensus, Seal, Other, RuntimeEnvironmentUpdated]
_ENGINE_ITEMS = {6: PreRuntime, 4: Consensus, 5: Seal}


def encode_digest_item(item: DigestItem) -> bytes:
    """SCALE encoding of a `DigestItem` (module docstring)."""
    if isinstance(item, (PreRuntime, Consensus, Seal)):
        return bytes([item.INDEX]) + bytes(item.engine) + scale.encode_bytes(item.data)
    if isinstance(item, Other):
        return b"\x00" + scale.encode_bytes(item.data)
    if isinstance(item, RuntimeEnvironmentUpdated):
        return b"\x08"
    raise TypeError(f"not a digest item: {item!r}")


def decode_digest_item(data, offset: int) -> tuple[DigestItem, int]:
    """Decode one `DigestItem` at `offset`; ScaleError on an unknown index or truncation."""
    index, at = scale.decode_u8(data, offset, "digest item index")
    if index in _ENGINE_ITEMS:
        cls = _ENGINE_ITEMS[index]
        engine, at = scale.decode_fixed(data, at, 4, f"{cls.__name__} engine id")
        payload, at = scale.decode_bytes(data, at, f"{cls.__name__} data")
        return cls(engine, payload), at
    if index == 0:
        payload, at = scale.decode_bytes(data, at, "Other data")
        return Other(payload), at
    if index == 8:
        return RuntimeEnvironmentUpdated(), at
    raise ScaleError(f"digest item at offset {offset}: unknown DigestItem index {index}")


def pre_digest_item(pre_digest: PreDigest) -> PreRuntime:
    """`DigestItem::subspace_pre_digest`: PreRuntime(SUB_, pre_digest.encode())."""
    return PreRuntime(ENGINE_ID, pre_digest.encode())


def consensus_log_item(log: ConsensusLog) -> Consensus:
    """Consensus(SUB_, encode_consensus_log(log))."""
    return Consensus(ENGINE_ID, encode_consensus_log(log))


def make_digest(pre_digest: PreDigest, logs: Iterable[ConsensusLog] = ()) -> tuple[DigestItem, ...]:
    """The unsealed digest of a new block: the pre-digest, then the runtime's consensus logs."""
    return (pre_digest_item(pre_digest), *(consensus_log_item(log) for log in logs))


# =============================================================================================
# Header


@dataclass(frozen=True)
class Header:
    """The Substrate block header (spec §8 "Header"); `digest` is a tuple of DigestItems."""

    parent_hash: bytes
    number: int
    state_root: bytes
    extrinsics_root: bytes
    digest: tuple = ()

    def __post_init__(self):
        _check_bytes(self.parent_hash, _HASH_SIZE, "Header.parent_hash")
        _check_uint(self.number, 32, "Header.number")
        _check_bytes(self.state_root, _HASH_SIZE, "Header.state_root")
        _check_bytes(self.extrinsics_root, _HASH_SIZE, "Header.extrinsics_root")
        if not isinstance(self.digest, tuple):
            object.__setattr__(self, "digest", tuple(self.digest))
        for item in self.digest:
            if not isinstance(item, (PreRuntime, Consensus, Seal, Other, RuntimeEnvironmentUpdated)):
                raise ValueError(f"Header.digest holds a non-digest item {item!r:.60}")

    # --- encoding, hashing ---

    def encode(self) -> bytes:
        return b"".join(
            (
                bytes(self.parent_hash),
                scale.encode_compact(self.number),
                bytes(self.state_root),
                bytes(self.extrinsics_root),
                scale.encode_vec(self.digest, encode_digest_item),
            )
        )

    @classmethod
    def decode_from(cls, data, offset: int = 0) -> tuple[Header, int]:
        """Decode a header at `offset`; ScaleError (not InvalidEncoding) for composing decoders."""
        parent_hash, at = scale.decode_fixed(data, offset, _HASH_SIZE, "header parent_hash")
        number, at = scale.decode_compact(data, at, "header number")
        if number > _U32_MAX:
            raise ScaleError(f"header number at offset {offset + _HASH_SIZE}: {number} exceeds u32")
        state_root, at = scale.decode_fixed(data, at, _HASH_SIZE, "header state_root")
        ext_root, at = scale.decode_fixed(data, at, _HASH_SIZE, "header extrinsics_root")
        digest, at = scale.decode_vec(data, at, decode_digest_item, "header digest")
        return cls(parent_hash, number, state_root, ext_root, tuple(digest)), at

    @classmethod
    def decode(cls, data: bytes, params: Params | None = None) -> Header:
        """Inverse of `encode`. The digest items stay opaque here (`pre_digest(params)` decodes
        the pre-digest); InvalidEncoding on truncation, garbage or trailing bytes."""
        try:
            header, at = cls.decode_from(data, 0)
            scale.ensure_consumed(data, at, "header")
        except ScaleError as err:
            raise _decode_error("header", err) from None
        return header

    def hash(self) -> bytes:
        """The block hash: BLAKE2b-256 of the header encoding (spec §8 "Header")."""
        return blake2_256(self.encode())

    def pre_seal_hash(self) -> bytes:
        """The hash the seal signs: the header hash without its final Seal item."""
        return self.without_seal().hash()

    # --- digest accessors ---

    def pre_digest(self, params: Params) -> PreDigest:
        """The Subspace pre-digest; InvalidPreDigest if missing, duplicated or undecodable."""
        found = [item for item in self.digest if isinstance(item, PreRuntime) and item.engine == ENGINE_ID]
        if not found:
            raise InvalidPreDigest("no Subspace pre-digest (PreRuntime SUB_)", number=self.number, block_hash=self.hash())
        if len(found) > 1:
            raise InvalidPreDigest(
                f"{len(found)} Subspace pre-digests (exactly one allowed)", number=self.number, block_hash=self.hash()
            )
        try:
            return PreDigest.decode(found[0].data, params)
        except InvalidPreDigest as err:
            raise err.at(self.number, self.hash()) from None

    def consensus_logs(self) -> list[ConsensusLog]:
        """The Subspace consensus logs in digest order; InvalidEncoding for an undecodable one."""
        logs = []
        for position, item in enumerate(self.digest):
            if isinstance(item, Consensus) and item.engine == ENGINE_ID:
                try:
                    logs.append(decode_consensus_log(item.data))
                except InvalidEncoding as err:
                    raise InvalidEncoding(
                        f"digest item {position}: {err.what}", number=self.number, block_hash=self.hash()
                    ) from None
        return logs

    def seal(self) -> bytes | None:
        """The seal signature: the data of the final digest item if it is Seal(SUB_), else None."""
        if self.digest and isinstance(self.digest[-1], Seal) and self.digest[-1].engine == ENGINE_ID:
            return bytes(self.digest[-1].data)
        return None

    def without_seal(self) -> Header:
        """This header with its final Seal(SUB_) item removed (unchanged if there is none)."""
        if self.seal() is None:
            return self
        return replace(self, digest=self.digest[:-1])

    def with_digest(self, digest: Iterable[DigestItem]) -> Header:
        return replace(self, digest=tuple(digest))

    def with_(self, **changes) -> Header:
        return replace(self, **changes)

    # --- display ---

    @property
    def label(self) -> str:
        """`#12 (0x1234abcd…9f0e)` for logs and error messages."""
        return block_label(self.number, self.hash())

    def __str__(self) -> str:
        return f"Header {self.label} parent {short_hex(self.parent_hash)}"


# =============================================================================================
# Justification, blocks


def _check_checkpoints(value, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != NUM_CHECKPOINTS:
        raise ValueError(f"{what} must be {NUM_CHECKPOINTS} checkpoints")
    for c in value:
        _check_bytes(c, _POT_SIZE, what)
    return tuple(bytes(c) for c in value)


@dataclass(frozen=True)
class PotCheckpointsJustification:
    """`SubspaceJustification::PotCheckpoints{seed, checkpoints}`: the PoT checkpoints of slots
    parent_future_slot + 1 ..= slot + delay (spec §8 "claim_slot"), engine id SUB_."""

    seed: bytes
    checkpoints: tuple = ()
    INDEX = 0

    def __post_init__(self):
        _check_bytes(self.seed, _POT_SIZE, "PotCheckpointsJustification.seed")
        object.__setattr__(
            self,
            "checkpoints",
            tuple(_check_checkpoints(c, f"PotCheckpointsJustification.checkpoints[{i}]") for i, c in enumerate(self.checkpoints)),
        )

    def encode(self) -> bytes:
        return b"\x00" + bytes(self.seed) + scale.encode_vec(self.checkpoints, b"".join)

    @classmethod
    def decode_from(cls, data, offset: int) -> tuple[PotCheckpointsJustification, int]:
        version, at = scale.decode_u8(data, offset, "SubspaceJustification index")
        if version != 0:
            raise ScaleError(f"SubspaceJustification at offset {offset}: unknown variant {version}")
        seed, at = scale.decode_fixed(data, at, _POT_SIZE, "justification seed")

        def one(d, o):
            raw, o2 = scale.decode_fixed(d, o, _POT_SIZE * NUM_CHECKPOINTS, "justification checkpoints")
            return tuple(raw[i * _POT_SIZE : (i + 1) * _POT_SIZE] for i in range(NUM_CHECKPOINTS)), o2

        checkpoints, at = scale.decode_vec(data, at, one, "justification checkpoints")
        return cls(seed, tuple(checkpoints)), at

    @classmethod
    def decode(cls, data: bytes) -> PotCheckpointsJustification:
        try:
            value, at = cls.decode_from(data, 0)
            scale.ensure_consumed(data, at, "justification")
        except ScaleError as err:
            raise _decode_error("PoT justification", err) from None
        return value

    def outputs(self) -> list[bytes]:
        """The PoT output of each covered slot (the last checkpoint of each)."""
        return [c[-1] for c in self.checkpoints]


@dataclass(frozen=True)
class Block:
    """`Block{header, extrinsics}`: each extrinsic is opaque, already-encoded bytes."""

    header: Header
    extrinsics: tuple = ()

    def __post_init__(self):
        if not isinstance(self.header, Header):
            raise ValueError("Block.header must be a Header")
        object.__setattr__(self, "extrinsics", tuple(bytes(x) for x in self.extrinsics))

    @property
    def number(self) -> int:
        return self.header.number

    def hash(self) -> bytes:
        return self.header.hash()

    def encode(self) -> bytes:
        return self.header.encode() + scale.encode_vec(self.extrinsics, scale.encode_bytes)

    @classmethod
    def decode_from(cls, data, offset: int = 0) -> tuple[Block, int]:
        header, at = Header.decode_from(data, offset)
        extrinsics, at = scale.decode_vec(
            data, at, lambda d, o: scale.decode_bytes(d, o, "extrinsic"), "block extrinsics"
        )
        return cls(header, tuple(extrinsics)), at

    @classmethod
    def decode(cls, data: bytes, params: Params | None = None) -> Block:
        try:
            block, at = cls.decode_from(data, 0)
            scale.ensure_consumed(data, at, "block")
        except ScaleError as err:
            raise _decode_error("block", err) from None
        return block

    def check_extrinsics_root(self) -> None:
        """WrongExtrinsicsRoot unless header.extrinsics_root == extrinsics_root(extrinsics)."""
        expected = extrinsics_root(self.extrinsics)
        if expected != self.header.extrinsics_root:
            raise WrongExtrinsicsRoot(
                f"extrinsics root {short_hex(self.header.extrinsics_root)} but the "
                f"{len(self.extrinsics)} extrinsics give {short_hex(expected)}",
                number=self.header.number,
                block_hash=self.header.hash(),
            )


@dataclass(frozen=True)
class SignedBlock:
    """`SignedBlock{block, justifications}` with at most the one Subspace justification.
    This is what is gossiped, synced and archived."""

    block: Block
    justification: PotCheckpointsJustification | None = None

    @property
    def header(self) -> Header:
        return self.block.header

    @property
    def number(self) -> int:
        return self.block.header.number

    def hash(self) -> bytes:
        return self.block.header.hash()

    def encode(self) -> bytes:
        if self.justification is None:
            justifications = b"\x00"
        else:
            justifications = b"\x01" + scale.encode_compact(1) + ENGINE_ID + scale.encode_bytes(self.justification.encode())
        return self.block.encode() + justifications

    @classmethod
    def decode(cls, data: bytes, params: Params | None = None) -> SignedBlock:
        """Inverse of `encode`; InvalidEncoding on garbage, naming the offset. Header digests stay
        opaque (`header.pre_digest(params)` decodes the pre-digest)."""
        try:
            block, at = Block.decode_from(data, 0)
            tag, at = scale.decode_u8(data, at, "justifications option tag")
            justification = None
            if tag == 1:
                count, count_at = scale.decode_compact(data, at, "justifications length")
                if count != 1:
                    raise ScaleError(f"justifications at offset {at}: {count} entries (expected exactly one SUB_)")
                engine, at = scale.decode_fixed(data, count_at, 4, "justification engine id")
                if engine != ENGINE_ID:
                    raise ScaleError(f"justification at offset {count_at}: unknown engine {engine!r}")
                raw, at = scale.decode_bytes(data, at, "justification")
                value, end = PotCheckpointsJustification.decode_from(raw, 0)
                scale.ensure_consumed(raw, end, f"justification at offset {at - len(raw)}")
                justification = value
            elif tag != 0:
                raise ScaleError(f"justifications at offset {at - 1}: invalid option tag 0x{tag:02x}")
            scale.ensure_consumed(data, at, "signed block")
        except ScaleError as err:
            raise _decode_error("signed block", err) from None
        return cls(block, justification)


# =============================================================================================
# Extrinsics root


def _blank_root() -> bytes:
    from trie import HexaryTrie

    return bytes(HexaryTrie({}).root_hash)


BLANK_ROOT = _blank_root()


def extrinsics_root(extrinsics: Sequence[bytes]) -> bytes:
    """The ordered trie root of the extrinsics (module docstring): a `trie.HexaryTrie` with
    key = SCALE Compact(index) and value = the extrinsic bytes. An extrinsic is never empty
    (an empty value would be a deletion in the trie), so an empty one is a ValueError."""
    for index, extrinsic in enumerate(extrinsics):
        if not extrinsic:
            raise ValueError(f"extrinsic {index} is empty")
    root, _ = ordered_trie_root_and_nodes(extrinsics, key=scale.encode_compact)
    return root


# =============================================================================================
# Seal (spec §8 "Header": the reward signature over the pre-seal hash)


def seal_header(unsealed: Header, signer: Signer) -> Header:
    """Append Seal(SUB_, signature of b"subspace_reward" ‖ unsealed.hash()) to the digest."""
    if unsealed.seal() is not None:
        raise ValueError(f"header {unsealed.label} is already sealed")
    signature = sign_reward(signer, unsealed.hash())
    return unsealed.with_digest((*unsealed.digest, Seal(ENGINE_ID, signature)))


def check_seal(header: Header, params: Params) -> PreDigest:
    """`check_reward_signature` (spec §8 "Header"): the final digest item is Seal(SUB_, sig), no
    other seal is present, and sig is the signature of the solution's farmer key over the
    pre-seal hash. Raises InvalidSeal (InvalidPreDigest if the pre-digest is bad); returns the
    pre-digest on success."""
    label = dict(number=header.number, block_hash=header.hash())
    signature = header.seal()
    if signature is None:
        raise InvalidSeal("no Subspace seal (the last digest item must be Seal SUB_)", **label)
    unsealed = header.without_seal()
    if any(isinstance(item, Seal) for item in unsealed.digest):
        raise InvalidSeal("a seal digest item before the final seal", **label)
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSeal(f"seal is {len(signature)} bytes, expected {SIGNATURE_SIZE}", **label)
    pre_digest = unsealed.pre_digest(params)
    if not verify_reward_signature(pre_digest.solution.public_key, unsealed.hash(), signature):
        raise InvalidSeal(
            f"seal is not a signature of the pre-seal hash {short_hex(unsealed.hash())} by farmer "
            f"{short_hex(pre_digest.solution.public_key)}",
            **label,
        )
    return pre_digest
