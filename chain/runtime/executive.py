"""The consensus state transition: `Runtime` composes the pallets and executes blocks.

`Runtime(params, extra_pallets=())` holds the pallets, in this order (which is the order of
`on_initialize` and `on_finalize`): System 0, Timestamp 1, Subspace 2, Rewards 4, Balances 5,
the extra pallets (e.g. the domains pallet from `domains/`, each with its own index and
storage under its own name), Sudo 100.

Executing a block (`execute_block`, spec §8 "state root"):

1. open the parent state (an unknown root is `InvalidBlockContext`);
2. `on_initialize` of every pallet (System checks the number follows the parent's, Subspace
   that the slot increases; consensus logs start here);
3. the extrinsics, in order (`apply_extrinsic`): inherents first, each inherent call at most
   once (`BadInherent`); then signed extrinsics: signature (`BadSignature`), nonce
   (`StaleNonce`/`FutureNonce`), fee (`CannotPayFees`) are block-validity rules; the nonce is
   bumped and the fee paid to the author, then the call runs in its own layer and a
   `DispatchError` reverts only the call (the extrinsic is included, marked failed);
4. every mandatory inherent (Timestamp.set) must have appeared (`MissingInherent`);
5. `on_finalize` of every pallet (Rewards pays the block reward, Subspace logs
   `NextSolutionRange`), then System stores the block's events;
6. the overlay goes into the trie: the new state root, and the new trie nodes as a write
   buffer (`BlockOutcome.new_nodes`) for the caller to commit atomically with the block.

Nothing is written to the db by `execute_block`; `genesis(db, config)` writes the genesis
nodes (via `commit_nodes`). The genesis hash is not part of the genesis state (it depends on
the genesis state root): block 1 stores its parent hash as `System.GenesisHash`, and signed
extrinsics are checked against it; before block 1 exists, `validate_extrinsic` uses the
`genesis_hash` argument or `Runtime.genesis_hash` (set it once the genesis block is built).

Extra pallets may define `inherent_calls` (call indices allowed as inherents),
`mandatory_inherent_calls` (call indices required once per block) and
`create_inherents(ctx) -> list[Call]` (what `inherent_extrinsics` adds for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chain import scale
from chain.keys import verify_signature
from chain.params import Params
from chain.runtime import balances as balances_mod
from chain.runtime import subspace as subspace_mod
from chain.runtime import system as system_mod
from chain.runtime import timestamp as timestamp_mod
from chain.runtime.errors import (
    BadInherent,
    BadSignature,
    FutureNonce,
    InvalidBlockContext,
    InvalidExtrinsic,
    MalformedExtrinsic,
    MissingInherent,
    StaleNonce,
    UnknownCall,
    UnknownGenesisHash,
)
from chain.runtime.extrinsics import (
    InherentExtrinsic,
    SignedExtrinsic,
    decode_extrinsic,
    extrinsic_hash,
    inherent_extrinsic,
    signing_payload,
    store_segment_headers_call,
    timestamp_set_call,
)
from chain.runtime.pallet import BlockContext, Call, DispatchError, Origin, Pallet
from chain.runtime.rewards import Rewards
from chain.runtime.state import (
    EMPTY_ROOT,
    BlockState,
    PalletStorage,
    StateError,
    commit_nodes,
    get_proof,
    item_key,
    storage_key,
    verify_proof,
)
from chain.runtime.subspace import SolutionRanges, Subspace
from chain.runtime.sudo import Sudo
from chain.runtime.system import Event, System
from chain.runtime.timestamp import Timestamp


@dataclass(frozen=True)
class GenesisConfig:
    """The genesis state. Amounts are in Shannon (1 AI3 = 10^18).

    `extra` maps an extra pallet's name to the config dict its `genesis` receives."""

    balances: Mapping[bytes, int] = field(default_factory=dict)
    initial_solution_range: int | None = None  # default: params.initial_solution_range
    enable_solution_range_adjustment: bool = False
    pot_slot_iterations: int | None = None  # default: params.pot_iterations
    timestamp: int = 0
    existential_deposit: int = balances_mod.DEFAULT_EXISTENTIAL_DEPOSIT
    base_fee: int = balances_mod.DEFAULT_BASE_FEE
    byte_fee: int = balances_mod.DEFAULT_BYTE_FEE
    block_reward: int = balances_mod.AI3
    halving_interval: int = 0
    max_reward_issuance: int | None = None
    sudo_key: bytes | None = None
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def pallet_config(self, params: Params) -> dict[str, Any]:
        return {
            "balances": dict(self.balances),
            "initial_solution_range": self.initial_solution_range if self.initial_solution_range is not None else params.initial_solution_range,
            "enable_solution_range_adjustment": self.enable_solution_range_adjustment,
            "pot_slot_iterations": self.pot_slot_iterations if self.pot_slot_iterations is not None else params.pot_iterations,
            "timestamp": self.timestamp,
            "existential_deposit": self.existential_deposit,
            "base_fee": self.base_fee,
            "byte_fee": self.byte_fee,
            "block_reward": self.block_reward,
            "halving_interval": self.halving_interval,
            "max_reward_issuance": self.max_reward_issuance,
            "sudo_key": self.sudo_key,
        }


@dataclass(frozen=True)
class ExtrinsicResult:
    """How one extrinsic of a block went: `success` False means its call failed (`error`)
    while the extrinsic stayed in the block and paid `fee` (inherents pay none)."""

    index: int
    hash: bytes
    signer: bytes | None
    call: Call
    success: bool
    fee: int = 0
    error: DispatchError | None = None


@dataclass(frozen=True)
class BlockOutcome:
    """The result of executing a block: its state root, the consensus logs its header must
    carry (chain.block log classes, in order), its events, one result per extrinsic, and the
    new trie nodes (hash -> node) that the caller commits with the block."""

    state_root: bytes
    consensus_logs: list[Any]
    events: list[Event]
    extrinsic_results: list[ExtrinsicResult]
    new_nodes: dict[bytes, bytes]


@dataclass(frozen=True)
class BuiltBlock:
    """`Runtime.build_block`: the extrinsics that made it into the block (inherents first),
    the outcome of executing exactly those, and the candidates dropped as invalid."""

    extrinsics: list[bytes]
    outcome: BlockOutcome
    rejected: list[tuple[bytes, InvalidExtrinsic]]


@dataclass(frozen=True)
class ValidTransaction:
    """`validate_extrinsic`'s verdict on a signed extrinsic for the pool: ordering tags are
    `signer ‖ u32 nonce`; `requires` is empty when the nonce is the account's next one."""

    hash: bytes
    signer: bytes
    nonce: int
    tip: int
    fee: int
    priority: int
    requires: tuple[bytes, ...]
    provides: tuple[bytes, ...]


def nonce_tag(signer: bytes, nonce: int) -> bytes:
    return bytes(signer) + scale.encode_u32(nonce)


def ensure_signature(ext: SignedExtrinsic, genesis_hash: bytes, index: int | None) -> None:
    """Signed extrinsics: the signer's signature over `signing_payload(genesis_hash, nonce,
    tip, call)` (replay protection across chains)."""
    if not verify_signature(ext.signer, signing_payload(genesis_hash, ext.nonce, ext.tip, ext.call), ext.signature):
        raise BadSignature(f"signature of {ext.signer.hex()} does not verify for this chain", index)


def ensure_nonce(expected: int, nonce: int, signer: bytes, index: int | None, allow_future: bool = False) -> None:
    """Signed extrinsics: the nonce must be the signer's next nonce (the pool also keeps
    future nonces)."""
    if nonce < expected:
        raise StaleNonce(f"nonce {nonce} of {signer.hex()} is stale (next is {expected})", index)
    if nonce > expected and not allow_future:
        raise FutureNonce(f"nonce {nonce} of {signer.hex()} is in the future (next is {expected})", index)


class _BlockTracker:
    """Per-block bookkeeping of `apply_extrinsic`: inherents seen, signed seen, results."""

    def __init__(self) -> None:
        self.inherents: set[tuple[int, int]] = set()
        self.signed_seen = False
        self.results: list[ExtrinsicResult] = []


class Runtime:
    """The consensus runtime (module docstring)."""

    def __init__(self, params: Params, extra_pallets: Sequence[Pallet] = (), genesis_hash: bytes | None = None) -> None:
        self.params = params
        self.genesis_hash = genesis_hash
        pallets: list[Any] = [System(), Timestamp(), Subspace(params), Rewards(), balances_mod.BalancesPallet(), *extra_pallets, Sudo(self._dispatch)]
        self.pallets: tuple[Any, ...] = tuple(pallets)
        self._by_index: dict[int, Any] = {}
        names: set[str] = set()
        for pallet in pallets:
            if pallet.index in self._by_index or pallet.name in names:
                raise ValueError(f"pallet {pallet.name!r} (index {pallet.index}) clashes with another pallet")
            self._by_index[pallet.index] = pallet
            names.add(pallet.name)

    def pallet(self, index: int) -> Any:
        return self._by_index[index]

    # --- genesis ---------------------------------------------------------------------------

    def genesis_state(self, config: GenesisConfig) -> tuple[bytes, dict[bytes, bytes]]:
        """The genesis state root and its trie nodes (nothing written anywhere)."""
        state = BlockState({}, EMPTY_ROOT)
        base = config.pallet_config(self.params)
        for pallet in self.pallets:
            pallet_config = dict(config.extra.get(pallet.name, {})) if pallet.name in config.extra else base
            pallet.genesis(PalletStorage(state, pallet.name), pallet_config)
        root = state.commit_to_trie()
        return root, dict(state.new_nodes)

    def genesis(self, db: Any, config: GenesisConfig) -> bytes:
        """Write the genesis state's trie nodes into `db` and return the genesis state root."""
        root, nodes = self.genesis_state(config)
        commit_nodes(db, nodes)
        return root

    # --- blocks ----------------------------------------------------------------------------

    def execute_block(self, db: Any, parent_state_root: bytes, ctx: BlockContext, extrinsics: Sequence[bytes]) -> BlockOutcome:
        """Execute a block on its parent's state (module docstring); raises `InvalidExtrinsic`
        (or a subclass) when the block is invalid. Writes nothing to `db`."""
        state = self._open(db, parent_state_root)
        tracker = _BlockTracker()
        self._initialize(state, ctx)
        for index, raw in enumerate(extrinsics):
            self.apply_extrinsic(state, ctx, tracker, index, raw)
        return self._finish(state, ctx, tracker, len(extrinsics))

    def build_block(self, db: Any, parent_state_root: bytes, ctx: BlockContext, candidates: Sequence[bytes],
                    segment_headers: Sequence = ()) -> BuiltBlock:
        """Block production: the inherents (`inherent_extrinsics`), then each candidate signed
        extrinsic that is valid at that point (invalid ones are dropped and reported); the
        outcome is the same as `execute_block` over the returned extrinsics."""
        state = self._open(db, parent_state_root)
        tracker = _BlockTracker()
        self._initialize(state, ctx)
        included: list[bytes] = []
        rejected: list[tuple[bytes, InvalidExtrinsic]] = []
        for raw in self.inherent_extrinsics(ctx, list(segment_headers)):
            self.apply_extrinsic(state, ctx, tracker, len(included), raw)
            included.append(raw)
        for raw in candidates:
            state.begin()
            results_before = len(tracker.results)
            try:
                ext = decode_extrinsic(raw)
                if not isinstance(ext, SignedExtrinsic):
                    raise BadInherent("block production takes inherents from inherent_extrinsics only")
                self.apply_extrinsic(state, ctx, tracker, len(included), raw)
            except InvalidExtrinsic as exc:
                state.rollback()
                del tracker.results[results_before:]
                rejected.append((raw, exc))
                continue
            state.commit()
            included.append(raw)
        return BuiltBlock(included, self._finish(state, ctx, tracker, len(included)), rejected)

    def _open(self, db: Any, root: bytes) -> BlockState:
        try:
            return BlockState(db, bytes(root))
        except StateError as exc:
            raise InvalidBlockContext(str(exc)) from exc

    def _initialize(self, state: BlockState, ctx: BlockContext) -> None:
        state.phase = None
        for pallet in self.pallets:
            try:
                pallet.on_initialize(PalletStorage(state, pallet.name), ctx)
            except (DispatchError, scale.ScaleError, StateError) as exc:
                raise InvalidBlockContext(f"{pallet.name}.on_initialize of block {ctx.number} failed: {exc}") from exc

    def _finish(self, state: BlockState, ctx: BlockContext, tracker: _BlockTracker, count: int) -> BlockOutcome:
        ensure_mandatory_inherents(self.pallets, tracker.inherents)
        state.phase = None
        for pallet in self.pallets:
            try:
                pallet.on_finalize(PalletStorage(state, pallet.name), ctx)
            except (DispatchError, scale.ScaleError, StateError) as exc:
                raise InvalidBlockContext(f"{pallet.name}.on_finalize of block {ctx.number} failed: {exc}") from exc
        system_mod.store_block_events(PalletStorage(state, system_mod.NAME), state.events, count)
        root = state.commit_to_trie()
        return BlockOutcome(root, list(state.logs), list(state.events), list(tracker.results), dict(state.new_nodes))

    def _dispatch(self, state: BlockState, ctx: BlockContext, call: Call, origin: Origin) -> None:
        """Route a call to its pallet (the pallet index of `Call`); unknown pallet: UnknownCall."""
        pallet = self._by_index.get(call.pallet_index)
        if pallet is None:
            raise UnknownCall(f"no pallet with index {call.pallet_index}")
        pallet.dispatch(PalletStorage(state, pallet.name), ctx, origin, call.call_index, call.args)

    def apply_extrinsic(self, state: BlockState, ctx: BlockContext, tracker: _BlockTracker, index: int, raw: bytes) -> None:
        """One extrinsic of a block (module docstring, step 3)."""
        try:
            ext = decode_extrinsic(raw)
        except MalformedExtrinsic as exc:
            raise MalformedExtrinsic(exc.reason, index) from exc
        state.phase = index
        try:
            if isinstance(ext, InherentExtrinsic):
                self._apply_inherent(state, ctx, tracker, index, raw, ext)
            else:
                self._apply_signed(state, ctx, tracker, index, raw, ext)
        except InvalidExtrinsic as exc:
            if exc.index is None:
                raise type(exc)(exc.reason, index) from exc
            raise
        except scale.ScaleError as exc:
            raise MalformedExtrinsic(f"call arguments do not decode: {exc}", index) from exc
        finally:
            state.phase = None

    def _apply_inherent(self, state, ctx, tracker, index, raw, ext: InherentExtrinsic) -> None:
        """Inherents come before every signed extrinsic, each call at most once, and must
        succeed (a failing inherent makes the block invalid)."""
        call = ext.call
        if tracker.signed_seen:
            raise BadInherent(f"inherent {call.pallet_index}.{call.call_index} after a signed extrinsic")
        pallet = self._by_index.get(call.pallet_index)
        if pallet is None:
            raise UnknownCall(f"no pallet with index {call.pallet_index}")
        if call.call_index not in getattr(pallet, "inherent_calls", ()):
            raise BadInherent(f"{pallet.name} call {call.call_index} is not an inherent")
        if (call.pallet_index, call.call_index) in tracker.inherents:
            raise BadInherent(f"inherent {pallet.name} call {call.call_index} appears twice")
        tracker.inherents.add((call.pallet_index, call.call_index))
        try:
            self._dispatch(state, ctx, call, Origin())
        except DispatchError as exc:
            raise BadInherent(f"inherent {pallet.name} call {call.call_index} failed: {exc}") from exc
        tracker.results.append(ExtrinsicResult(index, extrinsic_hash(raw), None, call, True))

    def _apply_signed(self, state, ctx, tracker, index, raw, ext: SignedExtrinsic) -> None:
        tracker.signed_seen = True
        system = PalletStorage(state, system_mod.NAME)
        genesis_hash = system_mod.genesis_hash(system) or self.genesis_hash
        if genesis_hash is None:
            raise UnknownGenesisHash("no genesis hash in state or runtime to check signatures against")
        ensure_signature(ext, genesis_hash, index)
        ensure_nonce(system_mod.account_nonce(system, ext.signer), ext.nonce, ext.signer, index)
        balances = PalletStorage(state, balances_mod.NAME)
        fee = balances_mod.Balances(balances).fee_of(len(raw), ext.tip)
        balances_mod.charge_fee(balances, ext.signer, fee, index)
        balances_mod.pay_fee_to_author(balances, ctx, fee)
        system_mod.increment_nonce(system, ext.signer)
        state.begin()
        try:
            self._dispatch(state, ctx, ext.call, Origin(signer=ext.signer))
        except DispatchError as exc:
            state.rollback()
            system.deposit_event("ExtrinsicFailed", error=f"{exc.module}.{exc.error}", fee=fee)
            tracker.results.append(ExtrinsicResult(index, extrinsic_hash(raw), ext.signer, ext.call, False, fee, exc))
            return
        except BaseException:
            state.rollback()
            raise
        state.commit()
        system.deposit_event("ExtrinsicSuccess", fee=fee)
        tracker.results.append(ExtrinsicResult(index, extrinsic_hash(raw), ext.signer, ext.call, True, fee))

    # --- inherents and the pool ------------------------------------------------------------

    def inherent_extrinsics(self, ctx: BlockContext, segment_headers: Sequence = ()) -> list[bytes]:
        """The inherents a block author includes, in order: `Timestamp.set(ctx.timestamp)`,
        `Subspace.store_segment_headers(segment_headers)` when there are any (spec §8), then
        what extra pallets create (`create_inherents(ctx)`)."""
        calls = [timestamp_set_call(ctx.timestamp)]
        if segment_headers:
            calls.append(store_segment_headers_call(list(segment_headers)))
        for pallet in self.pallets:
            create = getattr(pallet, "create_inherents", None)
            if create is not None:
                calls.extend(create(ctx))
        return [inherent_extrinsic(call) for call in calls]

    def validate_extrinsic(self, db: Any, state_root: bytes, raw: bytes, genesis_hash: bytes | None = None) -> ValidTransaction:
        """Pool admission on the best state: a signed extrinsic with a valid signature, a
        nonce not below the account's (future nonces are kept, with `requires`), a payable
        fee, and a call that decodes (dry run on a copy of the state; a call that fails with a
        DispatchError is still valid: it pays its fee). Raises InvalidExtrinsic otherwise."""
        ext = decode_extrinsic(raw)
        if not isinstance(ext, SignedExtrinsic):
            raise BadInherent("the pool accepts signed extrinsics only")
        state = self._open(db, state_root)
        system = PalletStorage(state, system_mod.NAME)
        chain_hash = system_mod.genesis_hash(system) or genesis_hash or self.genesis_hash
        if chain_hash is None:
            raise UnknownGenesisHash("no genesis hash known yet: pass genesis_hash or set Runtime.genesis_hash")
        ensure_signature(ext, chain_hash, None)
        expected = system_mod.account_nonce(system, ext.signer)
        ensure_nonce(expected, ext.nonce, ext.signer, None, allow_future=True)
        balances = PalletStorage(state, balances_mod.NAME)
        fee = balances_mod.Balances(balances).fee_of(len(raw), ext.tip)
        balances_mod.charge_fee(balances, ext.signer, fee, None)
        self._dry_run(state, ext)
        return ValidTransaction(
            hash=extrinsic_hash(raw),
            signer=ext.signer,
            nonce=ext.nonce,
            tip=ext.tip,
            fee=fee,
            priority=ext.tip,
            requires=(nonce_tag(ext.signer, ext.nonce - 1),) if ext.nonce > expected else (),
            provides=(nonce_tag(ext.signer, ext.nonce),),
        )

    def _dry_run(self, state: BlockState, ext: SignedExtrinsic) -> None:
        system = PalletStorage(state, system_mod.NAME)
        subspace = PalletStorage(state, subspace_mod.NAME)
        ctx = BlockContext(
            number=system_mod.block_number(system) + 1,
            parent_hash=bytes(32),
            slot=int.from_bytes(subspace.get(item_key("CurrentSlot")) or bytes(8), "little") + 1,
            timestamp=timestamp_mod.now(PalletStorage(state, timestamp_mod.NAME)) + 1,
            farmer_public_key=bytes(32),
            reward_address=bytes(32),
            solution_chunk=bytes(32),
            pot_output=bytes(16),
            randomness=bytes(32),
        )
        state.begin()
        try:
            self._dispatch(state, ctx, ext.call, Origin(signer=ext.signer))
        except DispatchError:
            pass
        except scale.ScaleError as exc:
            raise MalformedExtrinsic(f"call arguments do not decode: {exc}") from exc
        finally:
            state.rollback()

    # --- queries on a state root -----------------------------------------------------------

    def _storage(self, db: Any, root: bytes, pallet: str) -> PalletStorage:
        return PalletStorage(self._open(db, root), pallet)

    def solution_ranges(self, db: Any, root: bytes) -> SolutionRanges:
        """`SolutionRanges{current, next, voting_current, voting_next}` after the block of
        `root`; its child uses `.for_next_block()` (spec §7)."""
        return subspace_mod.read_solution_ranges(self._storage(db, root, subspace_mod.NAME))

    def pot_parameters(self, db: Any, root: bytes):
        """(slot_iterations, next_change: PotParametersChange | None; the `chain.block` class) after the block
        of `root` (spec §2 "Entropy injection" 5)."""
        state = self._open(db, root)
        number = system_mod.block_number(PalletStorage(state, system_mod.NAME))
        return subspace_mod.pot_parameters(PalletStorage(state, subspace_mod.NAME), number, self.params)

    def history_size(self, db: Any, root: bytes) -> int:
        return subspace_mod.history_size(self._storage(db, root, subspace_mod.NAME))

    def segment_commitment(self, db: Any, root: bytes, segment_index: int) -> bytes | None:
        return subspace_mod.segment_commitment(self._storage(db, root, subspace_mod.NAME), segment_index)

    def balance(self, db: Any, root: bytes, account: bytes) -> int:
        return balances_mod.Balances(self._storage(db, root, balances_mod.NAME)).free(account)

    def total_issuance(self, db: Any, root: bytes) -> int:
        return balances_mod.Balances(self._storage(db, root, balances_mod.NAME)).total_issuance()

    def nonce(self, db: Any, root: bytes, account: bytes) -> int:
        return system_mod.account_nonce(self._storage(db, root, system_mod.NAME), account)

    def block_number(self, db: Any, root: bytes) -> int:
        return system_mod.block_number(self._storage(db, root, system_mod.NAME))

    def timestamp(self, db: Any, root: bytes) -> int:
        return timestamp_mod.now(self._storage(db, root, timestamp_mod.NAME))

    def events(self, db: Any, root: bytes) -> list[Event]:
        return system_mod.events(self._storage(db, root, system_mod.NAME))

    def chain_genesis_hash(self, db: Any, root: bytes) -> bytes | None:
        """The genesis hash recorded in state (from block 1 on), else `Runtime.genesis_hash`."""
        return system_mod.genesis_hash(self._storage(db, root, system_mod.NAME)) or self.genesis_hash

    def storage_value(self, db: Any, root: bytes, pallet: str, item: str, key: bytes = b"") -> bytes | None:
        """The raw SCALE value of `pallet.item[key]`."""
        return self._storage(db, root, pallet).get(item_key(item, key))

    def storage_proof(self, db: Any, root: bytes, pallet: str, item: str, key: bytes = b"") -> tuple[bytes, ...]:
        """A proof of `pallet.item[key]` against `root` (`chain.runtime.state.verify_proof`)."""
        return get_proof(db, root, storage_key(pallet, item, key))

    def balance_proof(self, db: Any, root: bytes, account: bytes) -> tuple[int, tuple[bytes, ...]]:
        """(free balance, proof) of `account` at `root`; check with `verify_balance_proof`."""
        return self.balance(db, root, account), self.storage_proof(db, root, balances_mod.NAME, "Account", account)


def verify_balance_proof(root: bytes, account: bytes, proof: Sequence[bytes]) -> int:
    """The free balance that `proof` proves for `account` under state root `root` (0: absent);
    raises `InvalidProof`."""
    value = verify_proof(root, storage_key(balances_mod.NAME, "Account", account), tuple(proof))
    if value is None:
        return 0
    amount, end = scale.decode_u128(value, 0, "balance")
    scale.ensure_consumed(value, end, "balance")
    return amount


def ensure_mandatory_inherents(pallets: Sequence[Any], seen: set[tuple[int, int]]) -> None:
    """Every block carries each mandatory inherent (Timestamp.set) exactly once."""
    for pallet in pallets:
        for call_index in getattr(pallet, "mandatory_inherent_calls", ()):
            if (pallet.index, call_index) not in seen:
                raise MissingInherent(f"the block lacks the mandatory inherent {pallet.name} call {call_index}")
