"""The consensus-side domains pallet (spec/domains.md §1.2, §2.3, §2.6, §2.7), implementing
`chain.runtime.pallet.Pallet`.

What exists today (no staking yet): genesis domains, each with its genesis operator (id and
Ed25519 signing key) and a confirmed genesis execution receipt; the call `submit_bundle`
(call index 0) with every check of spec §2.3 that applies without staking or fees; the execution
inbox; the block tree with the acceptance rules of §2.6; confirmation after the challenge depth.

Checks of `submit_bundle`, in the order of spec §2.3 (each raises `InvalidBundle` /
`InvalidReceipt`, turned into `DispatchError("Domains", <check>, <detail>)`):
  2. receipt gap ≤ 1 (`ReceiptGapTooLarge`; singleton receipts are not implemented);
  4. body size matches and ≤ max_bundle_size, estimated weight ≤ max_bundle_weight, extrinsics
     root recomputes (`chain`-independent rules in `domains.bundles`);
  5. domain and operator exist and match, operator signature, slot above the operator's highest
     bundle slot of earlier blocks (`SlotNotIncreasing`), slot not reused in this block
     (`Equivocation`);
  6. slot not in the future, not older than the slot of the consensus block `bundle_longevity`
     blocks back, and (when the node supplies `pot_verifier`) the PoT output valid for the slot;
  7. the election proof (`domains.bundles.check_proof_of_election`);
  8. the receipt: classification (NewHead / CurrentHead accepted; InFuture, Pruned, NewBranch,
     Stale rejected), and for a NewHead the structural checks of §2.6 (trace, trace root,
     final root, consensus block hash, inbox roots, parent link).
Skipped (no staking/fees yet): 1 (versions), 3 (storage fund and byte fee).

Storage (keys under this pallet's prefix; `d` = domain id u32 LE, `n` = domain block number
u32 LE, `c` = consensus block number u32 LE, `op` = operator id u64 LE; values SCALE):
  b"Domains"                           Vec<u32>                 the domain ids
  b"DomainConfig" d                    DomainConfig
  b"Operator" op                       domain_id u32 ‖ signing_key [32] ‖ status u8 (0 Registered) ‖ stake u64
  b"DomainOperators" d                 Vec<u64> operator ids of the domain
  b"HeadDomainNumber" d                u32   number of the latest domain block defined on chain
  b"HeadReceiptNumber" d               u32   number of the head of the block tree
  b"NewAddedHeadReceipt" d             [32]  ER hash added as new head in this block (cleared in on_finalize)
  b"BlockTree" d n                     [32]  the ER hash at height n
  b"BlockTreeNode" h                   ER ‖ Vec<u64> operator ids that submitted or confirmed it
  b"LatestConfirmedER" d               ER    `LatestConfirmedDomainExecutionReceipt`
  b"ExecutionInbox" d n c              Vec<BundleDigest{header_hash [32], extrinsics_root [32], size u32}>
  b"InboxBlock" d c                    u32   the domain block number consensus block c defined
  b"ConsensusBlockHash" d c            [32]  hash of consensus block c (recorded in c+1's on_initialize)
  b"InboxedBundleAuthor" header_hash   u64   operator id
  b"SuccessfulBundles" d               Vec<[32]> bundle hashes accepted in this block (cleared in
                                             the next block's on_initialize)
  b"BlockSlot" c                       u64   slot of consensus block c (the last bundle_longevity+1 kept)
  b"OperatorHighestSlot" op            u64   highest bundle slot of the operator in earlier blocks
  b"OperatorSlotsInBlock" op           Vec<u64> bundle slots of the operator in this block
  b"BlockOperators"                    Vec<u64> operators with bundles in this block
  b"LatestSubmittedER" d op            u32
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from chain.runtime.pallet import BlockContext, Call, DispatchError, Origin, Storage
from chain.scale import (
    ScaleError,
    decode_fixed,
    decode_u32,
    decode_u64,
    decode_vec,
    encode_fixed,
    encode_u32,
    encode_u64,
    encode_vec,
    ensure_consumed,
)
from domains.bundles import (
    Bundle,
    InvalidBundle,
    check_bundle_extrinsics_root,
    check_bundle_signature,
    check_bundle_size,
    check_bundle_slot,
    check_bundle_weight,
    check_proof_of_election,
    election_threshold,
)
from domains.receipts import (
    ExecutionReceipt,
    InvalidReceipt,
    ReceiptType,
    check_receipt_consensus_block,
    check_receipt_inbox,
    check_receipt_parent,
    check_receipt_trace,
    classify_receipt,
)
from domains.runtime.params import DEV, DomainConfig, DomainParams

PALLET_NAME = "Domains"
#: The pallet's byte in a `Call` (choose with the runtime's composition; configurable).
DOMAINS_PALLET_INDEX = 12
SUBMIT_BUNDLE = 0

OPERATOR_REGISTERED = 0


# ---------------------------------------------------------------------------------------------
# Genesis configuration


@dataclass(frozen=True)
class GenesisOperator:
    operator_id: int
    signing_key: bytes
    #: stake used by the (simplified) election threshold; equal stakes = equal chances
    stake: int = 1


@dataclass(frozen=True)
class GenesisDomain:
    """A domain present at consensus genesis (the dev EVM domain), with its genesis ER."""

    config: DomainConfig
    genesis_receipt: ExecutionReceipt
    operators: tuple[GenesisOperator, ...]


def genesis_config(domains: Sequence[GenesisDomain]) -> dict[str, Any]:
    """The `config` dict `DomainsPallet.genesis` reads: {"domains": [GenesisDomain, ...]}."""
    return {"domains": list(domains)}


# ---------------------------------------------------------------------------------------------
# Calls


def submit_bundle_call(bundle: Bundle, pallet_index: int = DOMAINS_PALLET_INDEX) -> Call:
    """`Domains::submit_bundle(opaque_bundle)`: args = SCALE(bundle)."""
    return Call(pallet_index, SUBMIT_BUNDLE, bundle.encode())


def encode_call(call: Call) -> bytes:
    """A call as Substrate encodes it: pallet index u8 ‖ call index u8 ‖ args."""
    return bytes([call.pallet_index, call.call_index]) + call.args


def submit_bundle_call_bytes(bundle: Bundle, pallet_index: int = DOMAINS_PALLET_INDEX) -> bytes:
    """`encode_call(submit_bundle_call(bundle))`."""
    return encode_call(submit_bundle_call(bundle, pallet_index))


def bundle_of_call(call: Call, pallet_index: int = DOMAINS_PALLET_INDEX) -> Bundle | None:
    """The bundle of a `submit_bundle` call, or None for any other call (or undecodable args)."""
    if call.pallet_index != pallet_index or call.call_index != SUBMIT_BUNDLE:
        return None
    try:
        return Bundle.decode(call.args)
    except ScaleError:
        return None


def bundles_from_calls(calls: Iterable[Call], domain_id: int, pallet_index: int = DOMAINS_PALLET_INDEX) -> list[Bundle]:
    """The bundles for `domain_id` among a block's calls, in block order. The node should pass
    only the calls that succeeded (or cross-check with `successful_bundles`)."""
    out = []
    for call in calls:
        bundle = bundle_of_call(call, pallet_index)
        if bundle is not None and bundle.domain_id == domain_id:
            out.append(bundle)
    return out


# ---------------------------------------------------------------------------------------------
# Storage keys and codecs


def _d(domain_id: int) -> bytes:
    return encode_u32(domain_id)


def _op(operator_id: int) -> bytes:
    return encode_u64(operator_id)


def _get_u32(storage: Storage, key: bytes, default: int | None = None) -> int | None:
    raw = storage.get(key)
    return default if raw is None else decode_u32(raw, 0)[0]


def _get_u64(storage: Storage, key: bytes, default: int | None = None) -> int | None:
    raw = storage.get(key)
    return default if raw is None else decode_u64(raw, 0)[0]


def _hash_list(storage: Storage, key: bytes) -> list[bytes]:
    raw = storage.get(key)
    if raw is None:
        return []
    return decode_vec(raw, 0, lambda d, o: decode_fixed(d, o, 32, "hash"))[0]


def _u64_list(storage: Storage, key: bytes) -> list[int]:
    raw = storage.get(key)
    return [] if raw is None else decode_vec(raw, 0, decode_u64)[0]


def _put_u64_list(storage: Storage, key: bytes, items: list[int]) -> None:
    storage.set(key, encode_vec(items, encode_u64))


@dataclass(frozen=True)
class BundleDigest:
    """An execution-inbox entry (spec §2.3 "On success")."""

    header_hash: bytes
    extrinsics_root: bytes
    size: int

    def encode(self) -> bytes:
        return encode_fixed(self.header_hash, 32) + encode_fixed(self.extrinsics_root, 32) + encode_u32(self.size)

    @staticmethod
    def decode(data, offset: int) -> tuple["BundleDigest", int]:
        header_hash, at = decode_fixed(data, offset, 32, "header_hash")
        root, at = decode_fixed(data, at, 32, "extrinsics_root")
        size, at = decode_u32(data, at, "size")
        return BundleDigest(header_hash, root, size), at


@dataclass(frozen=True)
class OperatorInfo:
    operator_id: int
    domain_id: int
    signing_key: bytes
    status: int = OPERATOR_REGISTERED
    stake: int = 1

    def encode(self) -> bytes:
        return (encode_u32(self.domain_id) + encode_fixed(self.signing_key, 32) + bytes([self.status])
                + encode_u64(self.stake))

    @classmethod
    def decode(cls, operator_id: int, data: bytes) -> "OperatorInfo":
        domain_id, at = decode_u32(data, 0, "operator domain_id")
        key, at = decode_fixed(data, at, 32, "operator signing_key")
        status = data[at]
        stake, at = decode_u64(data, at + 1, "operator stake")
        ensure_consumed(data, at, "operator")
        return cls(operator_id, domain_id, key, status, stake)


@dataclass(frozen=True)
class BlockTreeNode:
    """`BlockTreeNodes[er_hash]`: the ER and the operators that submitted or confirmed it."""

    receipt: ExecutionReceipt
    operator_ids: tuple[int, ...]

    def encode(self) -> bytes:
        return self.receipt.encode() + encode_vec(list(self.operator_ids), encode_u64)

    @classmethod
    def decode(cls, data: bytes) -> "BlockTreeNode":
        receipt, at = ExecutionReceipt.decode_from(data, 0)
        ops, at = decode_vec(data, at, decode_u64, "operator ids")
        ensure_consumed(data, at, "block tree node")
        return cls(receipt, tuple(ops))


# ---------------------------------------------------------------------------------------------
# Read-only queries (for the node, the operator and tests)


def domain_ids(storage: Storage) -> list[int]:
    raw = storage.get(b"Domains")
    return [] if raw is None else decode_vec(raw, 0, decode_u32)[0]


def domain_config(storage: Storage, domain_id: int) -> DomainConfig | None:
    raw = storage.get(b"DomainConfig" + _d(domain_id))
    return None if raw is None else DomainConfig.decode(raw)


def operator_info(storage: Storage, operator_id: int) -> OperatorInfo | None:
    raw = storage.get(b"Operator" + _op(operator_id))
    return None if raw is None else OperatorInfo.decode(operator_id, raw)


def head_domain_number(storage: Storage, domain_id: int) -> int:
    return _get_u32(storage, b"HeadDomainNumber" + _d(domain_id), 0)


def head_receipt_number(storage: Storage, domain_id: int) -> int:
    return _get_u32(storage, b"HeadReceiptNumber" + _d(domain_id), 0)


def receipt_hash_at(storage: Storage, domain_id: int, number: int) -> bytes | None:
    return storage.get(b"BlockTree" + _d(domain_id) + encode_u32(number))


def block_tree_node(storage: Storage, receipt_hash: bytes) -> BlockTreeNode | None:
    raw = storage.get(b"BlockTreeNode" + receipt_hash)
    return None if raw is None else BlockTreeNode.decode(raw)


def latest_confirmed_receipt(storage: Storage, domain_id: int) -> ExecutionReceipt | None:
    raw = storage.get(b"LatestConfirmedER" + _d(domain_id))
    return None if raw is None else ExecutionReceipt.decode(raw)


def execution_inbox(storage: Storage, domain_id: int, domain_number: int, consensus_number: int) -> list[BundleDigest]:
    raw = storage.get(b"ExecutionInbox" + _d(domain_id) + encode_u32(domain_number) + encode_u32(consensus_number))
    return [] if raw is None else decode_vec(raw, 0, BundleDigest.decode)[0]


def successful_bundles(storage: Storage, domain_id: int) -> list[bytes]:
    """Hashes of the bundles accepted in the latest block (spec §2.3 `SuccessfulBundles`)."""
    return _hash_list(storage, b"SuccessfulBundles" + _d(domain_id))


def consensus_block_hash(storage: Storage, domain_id: int, consensus_number: int) -> bytes | None:
    return storage.get(b"ConsensusBlockHash" + _d(domain_id) + encode_u32(consensus_number))


# ---------------------------------------------------------------------------------------------
# The pallet


class DomainsPallet:
    """See the module docstring. `pot_verifier(slot, proof_of_time) -> bool`, when given, checks
    a bundle's PoT output (spec §2.3 #6); the node supplies it (it holds the PoT chain)."""

    name = PALLET_NAME

    def __init__(self, params: DomainParams = DEV, index: int = DOMAINS_PALLET_INDEX,
                 pot_verifier: Callable[[int, bytes], bool] | None = None) -> None:
        self.params = params
        self.index = index
        self.pot_verifier = pot_verifier

    # -- lifecycle ------------------------------------------------------------------------------

    def genesis(self, storage: Storage, config: dict[str, Any]) -> None:
        """Instantiate the genesis domains (spec §1.2 steps 4-6, without balances and staking):
        config, operators, and the genesis ER imported as confirmed at height 0."""
        ids = []
        for domain in config.get("domains", ()):
            cfg: DomainConfig = domain.config
            d = _d(cfg.domain_id)
            ids.append(cfg.domain_id)
            storage.set(b"DomainConfig" + d, cfg.encode())
            _put_u64_list(storage, b"DomainOperators" + d, [op.operator_id for op in domain.operators])
            for op in domain.operators:
                info = OperatorInfo(op.operator_id, cfg.domain_id, op.signing_key, OPERATOR_REGISTERED, op.stake)
                storage.set(b"Operator" + _op(op.operator_id), info.encode())
            receipt = domain.genesis_receipt
            receipt_hash = receipt.hash()
            storage.set(b"BlockTree" + d + encode_u32(0), receipt_hash)
            storage.set(b"BlockTreeNode" + receipt_hash, BlockTreeNode(receipt, ()).encode())
            storage.set(b"LatestConfirmedER" + d, receipt.encode())
            storage.set(b"HeadReceiptNumber" + d, encode_u32(0))
            storage.set(b"HeadDomainNumber" + d, encode_u32(0))
        storage.set(b"Domains", encode_vec(ids, encode_u32))

    def on_initialize(self, storage: Storage, ctx: BlockContext) -> None:
        """Record this block's slot (for bundle longevity), the parent's hash for domains that
        inboxed bundles there (for ER checks), and clear last block's `SuccessfulBundles`."""
        storage.set(b"BlockSlot" + encode_u32(ctx.number), encode_u64(ctx.slot))
        expired = ctx.number - self.params.bundle_longevity - 1
        if expired >= 0:
            storage.delete(b"BlockSlot" + encode_u32(expired))
        if ctx.number > 0:
            parent = ctx.number - 1
            for domain_id in domain_ids(storage):
                d = _d(domain_id)
                if storage.get(b"InboxBlock" + d + encode_u32(parent)) is not None:
                    storage.set(b"ConsensusBlockHash" + d + encode_u32(parent), bytes(ctx.parent_hash))
                storage.delete(b"SuccessfulBundles" + d)

    def on_finalize(self, storage: Storage, ctx: BlockContext) -> None:
        """Clear the per-block receipt state and roll the operators' highest bundle slots."""
        for domain_id in domain_ids(storage):
            storage.delete(b"NewAddedHeadReceipt" + _d(domain_id))
        for operator_id in _u64_list(storage, b"BlockOperators"):
            key = b"OperatorSlotsInBlock" + _op(operator_id)
            slots = _u64_list(storage, key)
            if slots:
                highest = max(slots + [_get_u64(storage, b"OperatorHighestSlot" + _op(operator_id), 0)])
                storage.set(b"OperatorHighestSlot" + _op(operator_id), encode_u64(highest))
            storage.delete(key)
        storage.delete(b"BlockOperators")

    def dispatch(self, storage: Storage, ctx: BlockContext, origin: Origin, call_index: int, args: bytes) -> None:
        if call_index != SUBMIT_BUNDLE:
            raise DispatchError(PALLET_NAME, "UnknownCall", f"call index {call_index}")
        try:
            bundle = Bundle.decode(args)
        except ScaleError as exc:
            raise DispatchError(PALLET_NAME, "UndecodableBundle", str(exc)) from exc
        try:
            self.submit_bundle(storage, ctx, bundle)
        except (InvalidBundle, InvalidReceipt) as exc:
            raise DispatchError(PALLET_NAME, exc.check, exc.detail) from exc

    # -- submit_bundle -------------------------------------------------------------------------

    def validate_bundle(self, storage: Storage, ctx: BlockContext, bundle: Bundle) -> tuple[OperatorInfo, ReceiptType]:
        """Every check of `submit_bundle` (module docstring), without writing. The node's pool
        can call this to refuse bundles that would fail."""
        domain_id = bundle.domain_id
        config = domain_config(storage, domain_id)
        if config is None:
            raise InvalidBundle("UnknownDomain", f"{bundle.describe()}: domain {domain_id} does not exist")
        head_domain = head_domain_number(storage, domain_id)
        head_receipt = head_receipt_number(storage, domain_id)
        # 2. receipt gap
        if head_domain - head_receipt > 1:
            raise InvalidBundle("ReceiptGapTooLarge", f"{bundle.describe()}: domain head {head_domain} is "
                                                      f"{head_domain - head_receipt} blocks above the head receipt "
                                                      f"{head_receipt}; a singleton receipt is needed")
        # 4. size, weight, extrinsics root
        check_bundle_size(bundle, config.max_bundle_size)
        check_bundle_weight(bundle, config.max_bundle_weight)
        check_bundle_extrinsics_root(bundle)
        # 5. operator, signature, slot order and equivocation
        operator = operator_info(storage, bundle.operator_id)
        if operator is None or operator.domain_id != domain_id:
            raise InvalidBundle("UnknownOperator", f"{bundle.describe()}: operator {bundle.operator_id} is not "
                                                   f"an operator of domain {domain_id}")
        if operator.status != OPERATOR_REGISTERED:
            raise InvalidBundle("OperatorNotAllowed", f"{bundle.describe()}: operator status {operator.status}")
        check_bundle_signature(bundle, operator.signing_key)
        highest = _get_u64(storage, b"OperatorHighestSlot" + _op(operator.operator_id))
        if highest is not None and bundle.slot <= highest:
            raise InvalidBundle("SlotNotIncreasing", f"{bundle.describe()}: slot {bundle.slot} is not above the "
                                                     f"operator's highest bundle slot {highest} of earlier blocks")
        if bundle.slot in _u64_list(storage, b"OperatorSlotsInBlock" + _op(operator.operator_id)):
            raise InvalidBundle("Equivocation", f"{bundle.describe()}: operator already submitted a bundle for "
                                                f"slot {bundle.slot} in this block")
        # 6. slot window and proof of time
        oldest = _get_u64(storage, b"BlockSlot" + encode_u32(max(0, ctx.number - self.params.bundle_longevity)), 0)
        check_bundle_slot(bundle, ctx.slot, oldest)
        if self.pot_verifier is not None and not self.pot_verifier(bundle.slot, bundle.header.proof_of_election.proof_of_time):
            raise InvalidBundle("InvalidProofOfTime", f"{bundle.describe()}: proof of time "
                                                      f"{bundle.header.proof_of_election.proof_of_time.hex()} "
                                                      f"is not the PoT output of slot {bundle.slot}")
        # 7. election
        total_stake = sum(self._domain_stakes(storage, domain_id)) or operator.stake
        threshold = election_threshold(config.bundle_slot_probability, operator.stake, total_stake)
        check_proof_of_election(bundle.header.proof_of_election, operator.signing_key, threshold)
        # 8. the receipt
        receipt_type = self.check_receipt(storage, domain_id, bundle.receipt, ctx.number)
        return operator, receipt_type

    def check_receipt(self, storage: Storage, domain_id: int, receipt: ExecutionReceipt,
                      consensus_number: int | None = None) -> ReceiptType:
        """Classify the ER (spec §2.6), reject the rejected types, and run the structural checks
        on a new head. Returns the accepted type."""
        d = _d(domain_id)
        receipt_hash = receipt.hash()
        confirmed = latest_confirmed_receipt(storage, domain_id)
        head_receipt = head_receipt_number(storage, domain_id)
        receipt_type = classify_receipt(
            receipt.domain_block_number, receipt_hash,
            head_receipt_number=head_receipt,
            head_extended_in_block=storage.get(b"NewAddedHeadReceipt" + d) is not None,
            last_confirmed_number=confirmed.domain_block_number if confirmed is not None else 0,
            head_domain_number=head_domain_number(storage, domain_id),
            stored_hash_at=lambda n: receipt_hash_at(storage, domain_id, n),
            domain_block_defined_in_block=consensus_number is not None
            and storage.get(b"InboxBlock" + d + encode_u32(consensus_number)) is not None)
        if not receipt_type.accepted:
            raise InvalidReceipt(receipt_type.value, f"{receipt.describe()}: head receipt is #{head_receipt}"
                                 + ("" if receipt_type != ReceiptType.NEW_BRANCH else
                                    f", the block tree holds a different receipt at #{receipt.domain_block_number}"))
        if receipt_type == ReceiptType.NEW_HEAD:
            n, c = receipt.domain_block_number, receipt.consensus_block_number
            check_receipt_trace(receipt)
            check_receipt_parent(receipt, receipt_hash_at(storage, domain_id, n - 1))
            check_receipt_consensus_block(receipt, consensus_block_hash(storage, domain_id, c))
            check_receipt_inbox(receipt, [b.extrinsics_root for b in execution_inbox(storage, domain_id, n, c)])
        return receipt_type

    def submit_bundle(self, storage: Storage, ctx: BlockContext, bundle: Bundle) -> ReceiptType:
        """`submit_bundle` (spec §2.3): validate, then process the receipt, bump the head domain
        number on the block's first bundle, inbox the bundle, record author and success."""
        operator, receipt_type = self.validate_bundle(storage, ctx, bundle)
        domain_id = bundle.domain_id
        d = _d(domain_id)
        self._process_receipt(storage, domain_id, operator.operator_id, bundle.receipt, receipt_type)
        # First bundle of this block for the domain: this consensus block defines a new domain block.
        domain_number = head_domain_number(storage, domain_id)
        if storage.get(b"InboxBlock" + d + encode_u32(ctx.number)) is None:
            domain_number += 1
            storage.set(b"HeadDomainNumber" + d, encode_u32(domain_number))
            storage.set(b"InboxBlock" + d + encode_u32(ctx.number), encode_u32(domain_number))
        inbox_key = b"ExecutionInbox" + d + encode_u32(domain_number) + encode_u32(ctx.number)
        inbox = execution_inbox(storage, domain_id, domain_number, ctx.number)
        header_hash = bundle.header.hash()
        inbox.append(BundleDigest(header_hash, bundle.extrinsics_root, bundle.header.bundle_size))
        storage.set(inbox_key, encode_vec(inbox, BundleDigest.encode))
        storage.set(b"InboxedBundleAuthor" + header_hash, encode_u64(operator.operator_id))
        bundles = successful_bundles(storage, domain_id) + [bundle.hash()]
        storage.set(b"SuccessfulBundles" + d, encode_vec(bundles, lambda h: encode_fixed(h, 32)))
        # Slot bookkeeping for the next blocks' checks.
        op = _op(operator.operator_id)
        _put_u64_list(storage, b"OperatorSlotsInBlock" + op, _u64_list(storage, b"OperatorSlotsInBlock" + op) + [bundle.slot])
        block_ops = _u64_list(storage, b"BlockOperators")
        if operator.operator_id not in block_ops:
            _put_u64_list(storage, b"BlockOperators", block_ops + [operator.operator_id])
        return receipt_type

    # -- the block tree ------------------------------------------------------------------------

    def _process_receipt(self, storage: Storage, domain_id: int, operator_id: int,
                         receipt: ExecutionReceipt, receipt_type: ReceiptType) -> None:
        """NewHead: add to the block tree, move the head, confirm the ER `challenge_depth`
        below (spec §2.7). CurrentHead: add the operator to the head's `operator_ids`."""
        d = _d(domain_id)
        receipt_hash = receipt.hash()
        if receipt_type == ReceiptType.NEW_HEAD:
            n = receipt.domain_block_number
            storage.set(b"BlockTree" + d + encode_u32(n), receipt_hash)
            storage.set(b"BlockTreeNode" + receipt_hash, BlockTreeNode(receipt, (operator_id,)).encode())
            storage.set(b"HeadReceiptNumber" + d, encode_u32(n))
            storage.set(b"NewAddedHeadReceipt" + d, receipt_hash)
            if n >= self.params.challenge_depth:
                self._confirm_receipt(storage, domain_id, n - self.params.challenge_depth)
        else:
            node = block_tree_node(storage, receipt_hash)
            if node is not None:
                node = BlockTreeNode(node.receipt, node.operator_ids + (operator_id,))
                storage.set(b"BlockTreeNode" + receipt_hash, node.encode())
        previous = _get_u32(storage, b"LatestSubmittedER" + d + _op(operator_id), 0)
        storage.set(b"LatestSubmittedER" + d + _op(operator_id), encode_u32(max(previous, receipt.domain_block_number)))

    def _confirm_receipt(self, storage: Storage, domain_id: int, number: int) -> None:
        """Take the ER at `number` out of the tree: it becomes the latest confirmed ER; its
        execution inbox and consensus-hash record are cleared (spec §2.7). Fees, transfers and
        rewards are not settled yet (no balances on domains' behalf)."""
        d = _d(domain_id)
        key = b"BlockTree" + d + encode_u32(number)
        receipt_hash = storage.get(key)
        if receipt_hash is None:
            return
        node = block_tree_node(storage, receipt_hash)
        storage.delete(key)
        storage.delete(b"BlockTreeNode" + receipt_hash)
        if node is None:
            return
        receipt = node.receipt
        storage.set(b"LatestConfirmedER" + d, receipt.encode())
        c = receipt.consensus_block_number
        if number > 0:
            storage.delete(b"ExecutionInbox" + d + encode_u32(number) + encode_u32(c))
            storage.delete(b"ConsensusBlockHash" + d + encode_u32(c))
            storage.delete(b"InboxBlock" + d + encode_u32(c))

    def _domain_stakes(self, storage: Storage, domain_id: int) -> list[int]:
        """Stakes of the domain's registered operators (`DomainOperators`)."""
        stakes = []
        for operator_id in _u64_list(storage, b"DomainOperators" + _d(domain_id)):
            info = operator_info(storage, operator_id)
            if info is not None and info.status == OPERATOR_REGISTERED:
                stakes.append(info.stake)
        return stakes
