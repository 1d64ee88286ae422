"""Execution receipts (spec/domains.md §2.5) and the receipt-chain rules of the block tree (§2.6).

An execution receipt (ER) is an operator's claim about one domain block: which consensus block
it was derived from, which bundles went in (and which were invalid), the state root after every
step of its execution, and the fees and transfers it produced. The consensus chain keeps one ER
per domain height (the block tree) and checks only what it can check without executing (§2.6);
everything else is left to fraud proofs.

Encoding (SCALE, `chain.scale`; field order as `ExecutionReceiptV0` in the live code):

    ExecutionReceipt = domain_block_number u32 ‖ domain_block_hash [32] ‖
        domain_block_extrinsic_root [32] ‖ parent_domain_block_receipt_hash [32] ‖
        consensus_block_number u32 ‖ consensus_block_hash [32] ‖
        inboxed_bundles Vec<InboxedBundle> ‖ final_state_root [32] ‖
        execution_trace Vec<[32]> ‖ execution_trace_root [32] ‖ block_fees BlockFees ‖
        transfers Transfers
    InboxedBundle = bundle BundleValidity ‖ extrinsics_root [32]
    BundleValidity = 0x00 ‖ InvalidBundleType | 0x01 ‖ digest_hash [32]      (Invalid | Valid)
    InvalidBundleType = type u8 ‖ extrinsic_index u32   (no index for InvalidBundleWeight)
        0 UndecodableTx, 1 OutOfRangeTx, 2 InherentExtrinsic, 3 InvalidXDM, 4 IllegalTx,
        5 InvalidBundleWeight   (our numbering: the §2.4 checking order)
    BlockFees = consensus_storage_fee u128 ‖ domain_execution_fee u128 ‖ burned_balance u128 ‖
        chain_rewards BTreeMap<ChainId, u128>
    Transfers = transfers_in ‖ transfers_out ‖ rejected_transfers_claimed ‖ transfers_rejected,
        each BTreeMap<ChainId, u128>
    BTreeMap<K, V> = compact count ‖ (K ‖ V)* in ascending key order
    ChainId = 0x00 (Consensus) | 0x01 ‖ domain_id u32 (Domain)

The ER hash is BLAKE2b-256 of that encoding (BlakeTwo256(SCALE(ER)), as live).

The EVM mapping: `domain_block_hash` is the EVM block hash (keccak of the RLP header),
`domain_block_extrinsic_root` the EVM block's `transactionsRoot`, and the execution trace is
[state root after the block's pre-processing (EIP-4788 / EIP-2935 system calls), the state root
after each included transaction, the block's final state root (after post-processing and
finalisation)], so its length is transactions + 2 (spec §3.5).

The execution-trace Merkle tree (`merkle_root`, spec §2.5, as `rs_merkle` with Blake2b-256):
leaves are the raw 32-byte state roots (not re-hashed); each level pairs nodes left to right,
a parent is BLAKE2b-256(left ‖ right), and an odd last node is carried up unchanged; the root
of one leaf is that leaf. A proof of leaf i (`merkle_proof`) is the list of siblings met on the
way up, bottom first, skipping levels where the node was carried up; `verify_merkle_proof`
needs the leaf count to know, at each level, which side the sibling is on and whether there is one.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Callable

from chain.scale import (
    ScaleError,
    decode_fixed,
    decode_u8,
    decode_u32,
    decode_u128,
    decode_vec,
    encode_fixed,
    encode_u8,
    encode_u32,
    encode_u128,
    encode_vec,
    ensure_consumed,
)

HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)


def blake2b_256(data: bytes) -> bytes:
    """BlakeTwo256: BLAKE2b with a 32-byte digest."""
    return hashlib.blake2b(data, digest_size=32).digest()


class InvalidReceipt(Exception):
    """An execution receipt that breaks a rule of spec §2.5/§2.6.

    `check` names the rule (e.g. "TraceRootMismatch", "InFuture"); the message says which
    receipt (number and hash) and what was wrong."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.detail = message


# ---------------------------------------------------------------------------------------------
# Chain ids, fees and transfers


@dataclass(frozen=True, order=True)
class ChainId:
    """`ChainId`: the consensus chain (`domain_id` None) or a domain. Ordered as the Rust enum
    (Consensus before every Domain, domains by id)."""

    sort_key: tuple = field(init=False, repr=False, compare=True)
    domain_id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sort_key", (0, 0) if self.domain_id is None else (1, self.domain_id))

    def encode(self) -> bytes:
        return b"\x00" if self.domain_id is None else b"\x01" + encode_u32(self.domain_id)

    @staticmethod
    def decode(data, offset: int) -> tuple["ChainId", int]:
        tag, at = decode_u8(data, offset, "ChainId tag")
        if tag == 0:
            return ChainId(None), at
        if tag == 1:
            domain_id, at = decode_u32(data, at, "ChainId domain id")
            return ChainId(domain_id), at
        raise ScaleError(f"ChainId at offset {offset}: unknown variant {tag}")


BalanceMap = tuple  # tuple[tuple[ChainId, int], ...], ascending by ChainId


def _sorted_map(items) -> BalanceMap:
    """A BTreeMap value: (key, value) pairs in ascending key order, keys unique."""
    ordered = tuple(sorted(((k, int(v)) for k, v in dict(items).items()), key=lambda kv: kv[0]))
    return ordered


def _encode_balance_map(items: BalanceMap) -> bytes:
    ordered = sorted(items, key=lambda kv: kv[0])
    return encode_vec(ordered, lambda kv: kv[0].encode() + encode_u128(kv[1]))


def _decode_balance_map(data, offset: int) -> tuple[BalanceMap, int]:
    def item(d, at):
        key, at = ChainId.decode(d, at)
        value, at = decode_u128(d, at, "balance")
        return (key, value), at

    items, at = decode_vec(data, offset, item, "BTreeMap<ChainId, Balance>")
    keys = [k for k, _ in items]
    if keys != sorted(set(keys)):
        raise ScaleError(f"BTreeMap<ChainId, Balance> at offset {offset}: keys not strictly ascending")
    return tuple(items), at


@dataclass(frozen=True)
class BlockFees:
    """`BlockFees` (spec §2.5). All zero until fees are accounted on the domain."""

    consensus_storage_fee: int = 0
    domain_execution_fee: int = 0
    burned_balance: int = 0
    chain_rewards: BalanceMap = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain_rewards", _sorted_map(self.chain_rewards))

    def encode(self) -> bytes:
        return (encode_u128(self.consensus_storage_fee) + encode_u128(self.domain_execution_fee)
                + encode_u128(self.burned_balance) + _encode_balance_map(self.chain_rewards))

    @staticmethod
    def decode(data, offset: int) -> tuple["BlockFees", int]:
        storage, at = decode_u128(data, offset, "consensus_storage_fee")
        execution, at = decode_u128(data, at, "domain_execution_fee")
        burned, at = decode_u128(data, at, "burned_balance")
        rewards, at = _decode_balance_map(data, at)
        return BlockFees(storage, execution, burned, rewards), at


@dataclass(frozen=True)
class Transfers:
    """`Transfers` (spec §2.5). Empty until cross-domain messaging exists."""

    transfers_in: BalanceMap = ()
    transfers_out: BalanceMap = ()
    rejected_transfers_claimed: BalanceMap = ()
    transfers_rejected: BalanceMap = ()

    def __post_init__(self) -> None:
        for name in ("transfers_in", "transfers_out", "rejected_transfers_claimed", "transfers_rejected"):
            object.__setattr__(self, name, _sorted_map(getattr(self, name)))

    def encode(self) -> bytes:
        return b"".join(_encode_balance_map(m) for m in (
            self.transfers_in, self.transfers_out, self.rejected_transfers_claimed, self.transfers_rejected))

    @staticmethod
    def decode(data, offset: int) -> tuple["Transfers", int]:
        maps = []
        at = offset
        for _ in range(4):
            m, at = _decode_balance_map(data, at)
            maps.append(m)
        return Transfers(*maps), at


# ---------------------------------------------------------------------------------------------
# Inboxed bundles


class InvalidBundleType(enum.IntEnum):
    """Why a bundle was excluded from its domain block, in the checking order of spec §2.4."""

    UNDECODABLE_TX = 0
    OUT_OF_RANGE_TX = 1
    INHERENT_EXTRINSIC = 2
    INVALID_XDM = 3
    ILLEGAL_TX = 4
    INVALID_BUNDLE_WEIGHT = 5


@dataclass(frozen=True)
class InboxedBundle:
    """One bundle of a domain block as the ER records it (spec §2.4): `Valid(digest_hash)` or
    `Invalid(type, extrinsic_index)`, and the bundle's extrinsics root."""

    extrinsics_root: bytes
    digest_hash: bytes | None = None
    invalid_type: InvalidBundleType | None = None
    extrinsic_index: int | None = None

    @classmethod
    def valid(cls, digest_hash: bytes, extrinsics_root: bytes) -> "InboxedBundle":
        return cls(extrinsics_root=extrinsics_root, digest_hash=digest_hash)

    @classmethod
    def invalid(cls, invalid_type: InvalidBundleType, extrinsic_index: int | None,
                extrinsics_root: bytes) -> "InboxedBundle":
        invalid_type = InvalidBundleType(invalid_type)
        if invalid_type == InvalidBundleType.INVALID_BUNDLE_WEIGHT:
            extrinsic_index = None
        elif extrinsic_index is None:
            raise ValueError(f"{invalid_type.name} needs the index of the failing extrinsic")
        return cls(extrinsics_root=extrinsics_root, invalid_type=invalid_type, extrinsic_index=extrinsic_index)

    @property
    def is_valid(self) -> bool:
        return self.invalid_type is None

    def encode(self) -> bytes:
        if self.is_valid:
            validity = b"\x01" + encode_fixed(self.digest_hash, HASH_SIZE, "bundle digest hash")
        else:
            validity = b"\x00" + encode_u8(int(self.invalid_type))
            if self.invalid_type != InvalidBundleType.INVALID_BUNDLE_WEIGHT:
                validity += encode_u32(self.extrinsic_index)
        return validity + encode_fixed(self.extrinsics_root, HASH_SIZE, "bundle extrinsics root")

    @staticmethod
    def decode(data, offset: int) -> tuple["InboxedBundle", int]:
        tag, at = decode_u8(data, offset, "BundleValidity tag")
        if tag == 1:
            digest, at = decode_fixed(data, at, HASH_SIZE, "bundle digest hash")
            root, at = decode_fixed(data, at, HASH_SIZE, "bundle extrinsics root")
            return InboxedBundle.valid(digest, root), at
        if tag != 0:
            raise ScaleError(f"BundleValidity at offset {offset}: unknown variant {tag}")
        kind, at = decode_u8(data, at, "InvalidBundleType")
        try:
            invalid_type = InvalidBundleType(kind)
        except ValueError:
            raise ScaleError(f"InvalidBundleType at offset {at - 1}: unknown variant {kind}") from None
        index = None
        if invalid_type != InvalidBundleType.INVALID_BUNDLE_WEIGHT:
            index, at = decode_u32(data, at, "invalid extrinsic index")
        root, at = decode_fixed(data, at, HASH_SIZE, "bundle extrinsics root")
        return InboxedBundle(extrinsics_root=root, invalid_type=invalid_type, extrinsic_index=index), at


# ---------------------------------------------------------------------------------------------
# The execution trace's Merkle tree


def merkle_root(leaves: list[bytes] | tuple[bytes, ...]) -> bytes:
    """Binary Merkle root, BLAKE2b-256, raw leaves, odd node carried up (spec §2.5; module doc).

    An empty list has no tree; its root is defined here as 32 zero bytes (the genesis ER's
    trace root is zero too)."""
    level = [bytes(leaf) for leaf in leaves]
    if not level:
        return ZERO_HASH
    while len(level) > 1:
        level = [blake2b_256(level[i] + level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def merkle_proof(leaves: list[bytes] | tuple[bytes, ...], index: int) -> list[bytes]:
    """The siblings of leaf `index` from the bottom up (levels where it is carried up skipped)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of a tree with {len(leaves)} leaves")
    level = [bytes(leaf) for leaf in leaves]
    proof = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        level = [blake2b_256(level[i] + level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return proof


def verify_merkle_proof(root: bytes, leaf: bytes, index: int, leaf_count: int, proof: list[bytes]) -> bool:
    """Whether `leaf` is leaf `index` of a `leaf_count`-leaf tree with `root` (never raises)."""
    if not 0 <= index < leaf_count:
        return False
    node, width, siblings = bytes(leaf), leaf_count, list(proof)
    while width > 1:
        sibling = index ^ 1
        if sibling < width:
            if not siblings:
                return False
            other = siblings.pop(0)
            node = blake2b_256(other + node) if index & 1 else blake2b_256(node + other)
        index //= 2
        width = (width + 1) // 2
    return not siblings and node == root


def execution_trace_root(trace: list[bytes] | tuple[bytes, ...]) -> bytes:
    """`execution_trace_root`: the Merkle root of the trace (spec §2.5)."""
    return merkle_root(trace)


# ---------------------------------------------------------------------------------------------
# The receipt


@dataclass(frozen=True)
class ExecutionReceipt:
    """`ExecutionReceiptV0` (spec §2.5; field meanings for the EVM in the module docstring)."""

    domain_block_number: int
    domain_block_hash: bytes
    domain_block_extrinsic_root: bytes
    parent_domain_block_receipt_hash: bytes
    consensus_block_number: int
    consensus_block_hash: bytes
    inboxed_bundles: tuple[InboxedBundle, ...]
    final_state_root: bytes
    execution_trace: tuple[bytes, ...]
    execution_trace_root: bytes
    block_fees: BlockFees = BlockFees()
    transfers: Transfers = Transfers()

    def encode(self) -> bytes:
        return b"".join((
            encode_u32(self.domain_block_number),
            encode_fixed(self.domain_block_hash, HASH_SIZE, "domain_block_hash"),
            encode_fixed(self.domain_block_extrinsic_root, HASH_SIZE, "domain_block_extrinsic_root"),
            encode_fixed(self.parent_domain_block_receipt_hash, HASH_SIZE, "parent_domain_block_receipt_hash"),
            encode_u32(self.consensus_block_number),
            encode_fixed(self.consensus_block_hash, HASH_SIZE, "consensus_block_hash"),
            encode_vec(self.inboxed_bundles, InboxedBundle.encode),
            encode_fixed(self.final_state_root, HASH_SIZE, "final_state_root"),
            encode_vec(self.execution_trace, lambda r: encode_fixed(r, HASH_SIZE, "execution trace root")),
            encode_fixed(self.execution_trace_root, HASH_SIZE, "execution_trace_root"),
            self.block_fees.encode(),
            self.transfers.encode(),
        ))

    @staticmethod
    def decode_from(data, offset: int) -> tuple["ExecutionReceipt", int]:
        number, at = decode_u32(data, offset, "domain_block_number")
        block_hash, at = decode_fixed(data, at, HASH_SIZE, "domain_block_hash")
        extrinsic_root, at = decode_fixed(data, at, HASH_SIZE, "domain_block_extrinsic_root")
        parent, at = decode_fixed(data, at, HASH_SIZE, "parent_domain_block_receipt_hash")
        consensus_number, at = decode_u32(data, at, "consensus_block_number")
        consensus_hash, at = decode_fixed(data, at, HASH_SIZE, "consensus_block_hash")
        inboxed, at = decode_vec(data, at, InboxedBundle.decode, "inboxed_bundles")
        final_root, at = decode_fixed(data, at, HASH_SIZE, "final_state_root")
        trace, at = decode_vec(data, at, lambda d, o: decode_fixed(d, o, HASH_SIZE, "trace root"), "execution_trace")
        trace_root, at = decode_fixed(data, at, HASH_SIZE, "execution_trace_root")
        fees, at = BlockFees.decode(data, at)
        transfers, at = Transfers.decode(data, at)
        return ExecutionReceipt(number, block_hash, extrinsic_root, parent, consensus_number, consensus_hash,
                                tuple(inboxed), final_root, tuple(trace), trace_root, fees, transfers), at

    @classmethod
    def decode(cls, data: bytes) -> "ExecutionReceipt":
        receipt, at = cls.decode_from(data, 0)
        ensure_consumed(data, at, "execution receipt")
        return receipt

    def hash(self) -> bytes:
        """BlakeTwo256(SCALE(ER)) (spec §2.5)."""
        return blake2b_256(self.encode())

    def describe(self) -> str:
        return f"receipt #{self.domain_block_number} ({self.hash().hex()[:16]}…)"


def genesis_receipt(genesis_block_hash: bytes, genesis_state_root: bytes,
                    genesis_extrinsics_root: bytes) -> ExecutionReceipt:
    """The genesis ER (spec §1.2 step 5): number 0, trace [genesis state root], and zero trace
    root, parent hash and consensus hash. It is imported confirmed and cannot be challenged."""
    return ExecutionReceipt(
        domain_block_number=0,
        domain_block_hash=genesis_block_hash,
        domain_block_extrinsic_root=genesis_extrinsics_root,
        parent_domain_block_receipt_hash=ZERO_HASH,
        consensus_block_number=0,
        consensus_block_hash=ZERO_HASH,
        inboxed_bundles=(),
        final_state_root=genesis_state_root,
        execution_trace=(genesis_state_root,),
        execution_trace_root=ZERO_HASH,
    )


# ---------------------------------------------------------------------------------------------
# Rules the consensus chain checks (spec §2.6)


class ReceiptType(enum.Enum):
    """The classification of an incoming ER against the block tree (spec §2.6)."""

    NEW_HEAD = "NewHead"
    CURRENT_HEAD = "CurrentHead"
    IN_FUTURE = "InFuture"
    PRUNED = "Pruned"
    NEW_BRANCH = "NewBranch"
    STALE = "Stale"

    @property
    def accepted(self) -> bool:
        return self in (ReceiptType.NEW_HEAD, ReceiptType.CURRENT_HEAD)


def classify_receipt(number: int, receipt_hash: bytes, *, head_receipt_number: int,
                     head_extended_in_block: bool, last_confirmed_number: int,
                     head_domain_number: int, stored_hash_at: Callable[[int], bytes | None],
                     domain_block_defined_in_block: bool = False) -> ReceiptType:
    """`execution_receipt_type` (spec §2.6), with head = `head_receipt_number`:

    - n > head+1, or n = head+1 when the head was already extended in this block: InFuture;
    - n = head+1: NewHead;
    - 0 < n ≤ last confirmed: Pruned;
    - n ≤ head with a different hash from the one stored at n: NewBranch;
    - n = head and (the head was added in this block, or it is the genesis ER while no domain
      block exists yet): CurrentHead (a confirmation of the head);
    - otherwise: Stale.

    One deviation: the genesis ER also counts as the "first genesis receipt" in the rest of the
    consensus block that defined domain block 1 (`domain_block_defined_in_block`), so every
    bundle of that first block is accepted, not only the first (live marks the others Stale).
    The gap invariant (domain head − head receipt ≤ 1) still holds: the bump already happened."""
    next_number = head_receipt_number + 1
    if number > next_number:
        return ReceiptType.IN_FUTURE
    if number == next_number:
        return ReceiptType.IN_FUTURE if head_extended_in_block else ReceiptType.NEW_HEAD
    if last_confirmed_number > 0 and number <= last_confirmed_number:
        return ReceiptType.PRUNED
    if stored_hash_at(number) != receipt_hash:
        return ReceiptType.NEW_BRANCH
    is_first_genesis_receipt = number == 0 and (
        head_domain_number == 0 or (head_domain_number == 1 and domain_block_defined_in_block))
    if number == head_receipt_number and (head_extended_in_block or is_first_genesis_receipt):
        return ReceiptType.CURRENT_HEAD
    return ReceiptType.STALE


def check_receipt_trace(receipt: ExecutionReceipt) -> None:
    """The trace rules a new ER must pass (spec §2.6 "Structural checks"): at least two trace
    entries, the trace root recomputes, and the final state root is the trace's last entry."""
    what = receipt.describe()
    if len(receipt.execution_trace) < 2:
        raise InvalidReceipt("TraceTooShort", f"{what}: execution trace has {len(receipt.execution_trace)} "
                                              f"entries, at least 2 are required")
    root = execution_trace_root(receipt.execution_trace)
    if root != receipt.execution_trace_root:
        raise InvalidReceipt("TraceRootMismatch", f"{what}: execution_trace_root is "
                                                  f"{receipt.execution_trace_root.hex()}, the trace gives {root.hex()}")
    if receipt.final_state_root != receipt.execution_trace[-1]:
        raise InvalidReceipt("FinalStateRootMismatch", f"{what}: final_state_root {receipt.final_state_root.hex()} "
                                                       f"is not the trace's last entry {receipt.execution_trace[-1].hex()}")


def check_receipt_parent(receipt: ExecutionReceipt, parent_hash_in_tree: bytes | None) -> None:
    """The parent ER exists at n−1 in the block tree with the hash the ER names (spec §2.6)."""
    if parent_hash_in_tree is None:
        raise InvalidReceipt("UnknownParent", f"{receipt.describe()}: no receipt at height "
                                              f"{receipt.domain_block_number - 1} in the block tree")
    if parent_hash_in_tree != receipt.parent_domain_block_receipt_hash:
        raise InvalidReceipt("WrongParent", f"{receipt.describe()}: parent_domain_block_receipt_hash is "
                                            f"{receipt.parent_domain_block_receipt_hash.hex()}, the block tree holds "
                                            f"{parent_hash_in_tree.hex()} at height {receipt.domain_block_number - 1}")


def check_receipt_consensus_block(receipt: ExecutionReceipt, recorded_hash: bytes | None) -> None:
    """`consensus_block_hash` equals the recorded hash of consensus block
    `consensus_block_number` (spec §2.6)."""
    if recorded_hash is None:
        raise InvalidReceipt("UnknownConsensusBlock", f"{receipt.describe()}: consensus block "
                                                      f"#{receipt.consensus_block_number} has no recorded hash "
                                                      f"(no bundles were inboxed there, or it is not yet final in this state)")
    if recorded_hash != receipt.consensus_block_hash:
        raise InvalidReceipt("WrongConsensusBlockHash", f"{receipt.describe()}: consensus_block_hash "
                                                        f"{receipt.consensus_block_hash.hex()} != recorded "
                                                        f"{recorded_hash.hex()} of consensus block #{receipt.consensus_block_number}")


def check_receipt_inbox(receipt: ExecutionReceipt, inbox_roots: list[bytes]) -> None:
    """The ER's inboxed bundles' extrinsics roots equal the execution inbox of (n, consensus
    block), in order, and are not empty (spec §2.6; no runtime upgrades exist here)."""
    roots = [b.extrinsics_root for b in receipt.inboxed_bundles]
    if not inbox_roots:
        raise InvalidReceipt("EmptyInbox", f"{receipt.describe()}: no bundles were inboxed for domain block "
                                           f"{receipt.domain_block_number} at consensus block #{receipt.consensus_block_number}")
    if roots != list(inbox_roots):
        raise InvalidReceipt("InboxMismatch", f"{receipt.describe()}: inboxed bundle roots "
                                              f"{[r.hex()[:16] for r in roots]} != execution inbox "
                                              f"{[r.hex()[:16] for r in inbox_roots]}")
