"""The consensus runtime (chain/runtime/): state trie, pallets, extrinsics, block execution."""

from __future__ import annotations

import pytest
from blake3 import blake3

from chain import pot, scale
from chain.archiving import LastArchivedBlock, SegmentHeader
from chain.keys import Ed25519Signer
from chain.params import TEST, U64_MAX
from chain.runtime import (
    EMPTY_ROOT,
    BadInherent,
    BadSignature,
    BlockContext,
    CannotPayFees,
    DispatchError,
    FutureNonce,
    GenesisConfig,
    InvalidBlockContext,
    InvalidExtrinsic,
    InvalidProof,
    MalformedExtrinsic,
    MissingInherent,
    PrefixedStore,
    Runtime,
    get_proof,
    StaleNonce,
    UnknownCall,
    storage_key,
    verify_balance_proof,
    verify_proof,
)
from chain.runtime import extrinsics as xt
from chain.runtime.logs import (
    EnableSolutionRangeAdjustmentAndOverride,
    NextSolutionRange,
    PotParametersChange,
    PotSlotIterations,
    SegmentCommitment,
    SolutionRange,
)
from chain.runtime.pallet import Call
from chain.runtime.state import pallet_prefix
from chain.verification import derive_next_solution_range

ALICE = Ed25519Signer.dev("alice")
BOB = Ed25519Signer.dev("bob")
SUDO = Ed25519Signer.dev("sudo")
CHARLIE = bytes([0xCC]) * 32
AUTHOR = bytes([0xAA]) * 32
GENESIS_HASH = blake3(b"test genesis").digest()
ED = 10**12
BASE_FEE = 10**13
BYTE_FEE = 10**10
REWARD = 10**18
START = 10**21


def config(**changes) -> GenesisConfig:
    fields = dict(
        balances={ALICE.public_key: START, BOB.public_key: START, SUDO.public_key: START},
        existential_deposit=ED,
        base_fee=BASE_FEE,
        byte_fee=BYTE_FEE,
        block_reward=REWARD,
        sudo_key=SUDO.public_key,
    )
    fields.update(changes)
    return GenesisConfig(**fields)


class Chain:
    """A chain of blocks executed on an in-memory node db (no headers: the parent hash of
    block n is a stand-in derived from the state root)."""

    def __init__(self, params=TEST, genesis: GenesisConfig | None = None, extra_pallets=(), slot_step: int = 1):
        self.params = params
        self.runtime = Runtime(params, extra_pallets)
        self.db: dict[bytes, bytes] = {}
        self.root = self.runtime.genesis(self.db, genesis or config())
        self.number = 0
        self.slot = 0
        self.slot_step = slot_step
        self.roots = [self.root]

    def ctx(self, slot: int | None = None, timestamp: int | None = None, number: int | None = None) -> BlockContext:
        number = self.number + 1 if number is None else number
        slot = self.slot + self.slot_step if slot is None else slot
        parent_hash = GENESIS_HASH if number == 1 else blake3(self.root).digest()
        return BlockContext(
            number=number,
            parent_hash=parent_hash,
            slot=slot,
            timestamp=1000 * slot if timestamp is None else timestamp,
            farmer_public_key=bytes([0xFA]) * 32,
            reward_address=AUTHOR,
            solution_chunk=blake3(b"chunk" + number.to_bytes(4, "little")).digest(),
            pot_output=blake3(b"pot" + slot.to_bytes(8, "little")).digest()[:16],
            randomness=bytes(32),
        )

    def block(self, signed=(), segment_headers=(), ctx: BlockContext | None = None, inherents=None):
        ctx = ctx or self.ctx()
        exts = (self.runtime.inherent_extrinsics(ctx, list(segment_headers)) if inherents is None else list(inherents)) + list(signed)
        outcome = self.runtime.execute_block(self.db, self.root, ctx, exts)
        self.db.update(outcome.new_nodes)
        self.root = outcome.state_root
        self.roots.append(self.root)
        self.number = ctx.number
        self.slot = ctx.slot
        return outcome

    def try_block(self, signed=(), ctx=None, inherents=None):
        """Execute without advancing the chain."""
        ctx = ctx or self.ctx()
        exts = (self.runtime.inherent_extrinsics(ctx) if inherents is None else list(inherents)) + list(signed)
        return self.runtime.execute_block(self.db, self.root, ctx, exts)

    def balance(self, account) -> int:
        account = getattr(account, "public_key", account)
        return self.runtime.balance(self.db, self.root, account)

    def nonce(self, signer) -> int:
        return self.runtime.nonce(self.db, self.root, signer.public_key)

    def transfer(self, signer, dest, amount, nonce=None, tip=0, keep_alive=False, genesis_hash=GENESIS_HASH) -> bytes:
        dest = getattr(dest, "public_key", dest)
        nonce = self.nonce(signer) if nonce is None else nonce
        return xt.signed_transfer(signer, dest, amount, nonce, genesis_hash, tip=tip, keep_alive=keep_alive)

    def signed(self, signer, call, nonce=None, tip=0) -> bytes:
        nonce = self.nonce(signer) if nonce is None else nonce
        return xt.signed_extrinsic(signer, call, nonce, GENESIS_HASH, tip)

    def sudo(self, call) -> bytes:
        return self.signed(SUDO, xt.sudo_call(call))

    def drain(self, signer, dest, leave: int, keep_alive=False) -> tuple[bytes, int]:
        """A transfer of everything but `leave` (after its own fee) from `signer`."""
        free, amount = self.balance(signer), 0
        for _ in range(3):  # the fee depends on the encoded amount's length
            ext = self.transfer(signer, dest, max(amount, 1), keep_alive=keep_alive)
            amount = free - self.fee(ext) - leave
        return self.transfer(signer, dest, amount, keep_alive=keep_alive), amount

    def fee(self, ext: bytes) -> int:
        return BASE_FEE + BYTE_FEE * len(ext) + xt.decode_extrinsic(ext).tip


def logs_of(outcome, cls):
    return [log for log in outcome.consensus_logs if isinstance(log, cls)]


def segment_header(index: int, last_block: int = 0) -> SegmentHeader:
    return SegmentHeader(index, blake3(b"commitment%d" % index).digest() + bytes(16), bytes(32), LastArchivedBlock(last_block))


# --- Genesis and state ----------------------------------------------------------------------


def test_genesis_balances_and_root_determinism():
    a, b = Chain(), Chain()
    assert a.root == b.root != EMPTY_ROOT
    assert a.balance(ALICE) == START and a.balance(CHARLIE) == 0
    assert a.runtime.total_issuance(a.db, a.root) == 3 * START
    assert a.runtime.block_number(a.db, a.root) == 0
    assert a.runtime.history_size(a.db, a.root) == 1
    other = Chain(genesis=config(balances={ALICE.public_key: START}))
    assert other.root != a.root
    with pytest.raises(ValueError, match="existential deposit"):
        Runtime(TEST).genesis({}, config(balances={ALICE.public_key: ED - 1}))


def test_state_root_changes_and_reexecution_is_deterministic():
    chain = Chain()
    ctx = chain.ctx()
    exts = chain.runtime.inherent_extrinsics(ctx) + [chain.transfer(ALICE, BOB, 5 * ED)]
    first = chain.runtime.execute_block(chain.db, chain.root, ctx, exts)
    again = chain.runtime.execute_block(chain.db, chain.root, ctx, exts)
    assert first.state_root == again.state_root and first.new_nodes == again.new_nodes
    assert first.consensus_logs == again.consensus_logs and first.events == again.events
    assert first.state_root != chain.root
    # Any change of input changes the root: another amount, another timestamp, another author.
    other_amount = chain.runtime.execute_block(chain.db, chain.root, ctx, exts[:1] + [chain.transfer(ALICE, BOB, 6 * ED)])
    later = chain.ctx(timestamp=ctx.timestamp + 1)
    other_time = chain.runtime.execute_block(chain.db, chain.root, later, chain.runtime.inherent_extrinsics(later) + exts[1:])
    roots = {first.state_root, other_amount.state_root, other_time.state_root}
    assert len(roots) == 3
    # execute_block wrote nothing: the parent state still reads the same.
    assert chain.balance(BOB) == START


def test_unknown_parent_root_and_wrong_number_are_invalid():
    chain = Chain()
    with pytest.raises(InvalidBlockContext, match="unknown state root"):
        chain.runtime.execute_block(chain.db, bytes(32), chain.ctx(), [])
    with pytest.raises(InvalidBlockContext, match="does not follow"):
        chain.try_block(ctx=chain.ctx(number=2))
    chain.block()
    with pytest.raises(InvalidBlockContext, match="slot"):
        chain.try_block(ctx=chain.ctx(slot=chain.slot))


def test_balance_proofs_verify_against_the_state_root():
    chain = Chain()
    chain.block([chain.transfer(ALICE, CHARLIE, 7 * ED)])
    value, proof = chain.runtime.balance_proof(chain.db, chain.root, CHARLIE)
    assert value == 7 * ED
    assert verify_balance_proof(chain.root, CHARLIE, proof) == 7 * ED
    # Absence is proven too.
    absent, absent_proof = chain.runtime.balance_proof(chain.db, chain.root, bytes(32))
    assert absent == 0 and verify_balance_proof(chain.root, bytes(32), absent_proof) == 0
    # A proof does not verify against another root or for another key's value.
    with pytest.raises(InvalidProof):
        verify_balance_proof(chain.roots[0], CHARLIE, proof)
    key = storage_key("Balances", "Account", ALICE.public_key)
    alice_value = verify_proof(chain.root, key, chain.runtime.storage_proof(chain.db, chain.root, "Balances", "Account", ALICE.public_key))
    assert int.from_bytes(alice_value, "little") == chain.balance(ALICE)


def test_state_in_an_lmdb_store(tmp_path):
    from chain.store import KVStore

    with KVStore(tmp_path / "db", durable=False) as store:
        db = PrefixedStore(store, b"state/")
        runtime = Runtime(TEST)
        root = runtime.genesis(db, config())
        chain = Chain()
        assert root == chain.root
        ctx = chain.ctx()
        outcome = runtime.execute_block(db, root, ctx, runtime.inherent_extrinsics(ctx) + [chain.transfer(ALICE, CHARLIE, 3 * ED)])
        store.write_batch(db.batch(outcome.new_nodes))
        assert runtime.balance(db, outcome.state_root, CHARLIE) == 3 * ED
        assert all(key.startswith(b"state/") for key, _ in store.iterate(b""))


# --- Extrinsics -----------------------------------------------------------------------------


def test_extrinsic_encoding_round_trip_and_malformed():
    ext = xt.signed_transfer(ALICE, CHARLIE, 12345, 7, GENESIS_HASH, tip=9)
    decoded = xt.decode_extrinsic(ext)
    assert isinstance(decoded, xt.SignedExtrinsic)
    assert (decoded.signer, decoded.nonce, decoded.tip) == (ALICE.public_key, 7, 9)
    assert decoded.call == xt.transfer_call(CHARLIE, 12345)
    assert xt.encode_extrinsic(decoded) == ext
    assert ext[0] == 1 and ext[1:33] == ALICE.public_key and len(ext) == 1 + 32 + 1 + 1 + (1 + 1 + 1 + 32 + 2) + 64
    inherent = xt.inherent_extrinsic(xt.timestamp_set_call(5))
    assert inherent == bytes([0, 1, 0, 1 << 2, 5 << 2])
    for bad in (b"", b"\x02" + inherent[1:], ext + b"\x00", ext[:-1]):
        with pytest.raises(MalformedExtrinsic):
            xt.decode_extrinsic(bad)


def test_signature_covers_the_genesis_hash():
    chain = Chain()
    chain.block()
    replay = chain.transfer(ALICE, BOB, 5 * ED, genesis_hash=blake3(b"another chain").digest())
    with pytest.raises(BadSignature, match="extrinsic 1"):
        chain.try_block([replay])
    with pytest.raises(BadSignature):
        chain.runtime.validate_extrinsic(chain.db, chain.root, replay)
    forged = bytearray(chain.transfer(ALICE, BOB, 5 * ED))
    forged[-1] ^= 1
    with pytest.raises(BadSignature):
        chain.try_block([bytes(forged)])
    # Block 1 records its parent hash as the genesis hash.
    assert chain.runtime.chain_genesis_hash(chain.db, chain.root) == GENESIS_HASH
    # Before block 1, the pool needs the genesis hash given to it.
    fresh = Chain()
    with pytest.raises(InvalidExtrinsic, match="genesis hash"):
        fresh.runtime.validate_extrinsic(fresh.db, fresh.root, fresh.transfer(ALICE, BOB, 5 * ED))
    assert fresh.runtime.validate_extrinsic(fresh.db, fresh.root, fresh.transfer(ALICE, BOB, 5 * ED), genesis_hash=GENESIS_HASH).nonce == 0


def test_transfer_pays_fees_to_the_author_and_reward():
    chain = Chain()
    ext = chain.transfer(ALICE, BOB, 5 * ED, tip=77)
    fee = chain.fee(ext)
    assert fee == BASE_FEE + BYTE_FEE * len(ext) + 77
    outcome = chain.block([ext])
    assert chain.balance(ALICE) == START - 5 * ED - fee
    assert chain.balance(BOB) == START + 5 * ED
    assert chain.balance(AUTHOR) == fee + REWARD
    assert chain.runtime.total_issuance(chain.db, chain.root) == 3 * START + REWARD
    result = outcome.extrinsic_results[1]
    assert result.success and result.fee == fee and result.signer == ALICE.public_key
    names = [(e.pallet, e.name) for e in outcome.events]
    assert ("Balances", "Transfer") in names and ("System", "ExtrinsicSuccess") in names and ("Rewards", "BlockReward") in names
    assert chain.runtime.events(chain.db, chain.root) == outcome.events


def test_existential_deposit_reaps_and_rejects():
    chain = Chain()
    # Destination would be below the ED: the call fails, the fee is still paid, nonce bumped.
    small = chain.transfer(ALICE, CHARLIE, ED - 1)
    outcome = chain.block([small])
    result = outcome.extrinsic_results[1]
    assert not result.success and result.error.error == "ExistentialDeposit"
    assert chain.balance(CHARLIE) == 0 and chain.balance(ALICE) == START - chain.fee(small)
    assert chain.nonce(ALICE) == 1
    # keep-alive refuses to reap the source.
    everything, _ = chain.drain(BOB, CHARLIE, ED // 2, keep_alive=True)
    outcome = chain.block([everything])
    assert outcome.extrinsic_results[1].error.error == "Expendability"
    # transfer_allow_death leaves BOB with ED/2 < ED: BOB is reaped and the dust burned.
    issuance_before = chain.runtime.total_issuance(chain.db, chain.root)
    ext, amount = chain.drain(BOB, CHARLIE, ED // 2)
    outcome = chain.block([ext])
    assert outcome.extrinsic_results[1].success
    assert chain.balance(BOB) == 0 and chain.balance(CHARLIE) == amount
    assert any(e.name == "DustLost" and e.field("amount") == ED // 2 for e in outcome.events)
    assert chain.runtime.total_issuance(chain.db, chain.root) == issuance_before - ED // 2 + REWARD
    # The nonce survives reaping (no replay).
    assert chain.nonce(BOB) == 2
    # Total issuance = sum of balances.
    accounts = [ALICE.public_key, BOB.public_key, SUDO.public_key, CHARLIE, AUTHOR]
    assert sum(chain.balance(a) for a in accounts) == chain.runtime.total_issuance(chain.db, chain.root)


def test_failed_call_is_reverted_but_charged():
    chain = Chain()
    ext = chain.transfer(ALICE, BOB, 2 * START)
    outcome = chain.block([ext])
    assert not outcome.extrinsic_results[1].success
    assert outcome.extrinsic_results[1].error.error == "InsufficientBalance"
    assert chain.balance(BOB) == START and chain.balance(ALICE) == START - chain.fee(ext)
    assert any(e.name == "ExtrinsicFailed" for e in outcome.events)
    assert not any(e.name == "Transfer" for e in outcome.events)


def test_cannot_pay_fees_makes_the_block_invalid():
    chain = Chain()
    poor = Ed25519Signer.dev("poor")
    chain.block([chain.transfer(ALICE, poor, 2 * ED)])
    ext = chain.transfer(poor, BOB, ED)
    with pytest.raises(CannotPayFees):
        chain.try_block([ext])
    with pytest.raises(CannotPayFees):
        chain.runtime.validate_extrinsic(chain.db, chain.root, ext)


def test_nonces():
    chain = Chain()
    first, second = chain.transfer(ALICE, BOB, ED, nonce=0), chain.transfer(ALICE, BOB, ED, nonce=1)
    with pytest.raises(FutureNonce):
        chain.try_block([second])
    valid = chain.runtime.validate_extrinsic(chain.db, chain.root, second, genesis_hash=GENESIS_HASH)
    assert valid.requires == (ALICE.public_key + (0).to_bytes(4, "little"),)
    assert valid.provides == (ALICE.public_key + (1).to_bytes(4, "little"),)
    chain.block([first, second])
    assert chain.nonce(ALICE) == 2
    with pytest.raises(StaleNonce):
        chain.try_block([first])
    with pytest.raises(StaleNonce):
        chain.runtime.validate_extrinsic(chain.db, chain.root, first)
    v = chain.runtime.validate_extrinsic(chain.db, chain.root, chain.transfer(ALICE, BOB, ED, tip=5))
    assert v.requires == () and v.priority == 5 and v.nonce == 2


def test_inherent_rules():
    chain = Chain()
    ctx = chain.ctx()
    ts = chain.runtime.inherent_extrinsics(ctx)
    assert len(ts) == 1
    with pytest.raises(MissingInherent):
        chain.try_block(inherents=[])
    with pytest.raises(BadInherent, match="twice"):
        chain.try_block(inherents=ts + ts)
    with pytest.raises(BadInherent, match="after a signed"):
        chain.try_block(inherents=[], signed=[chain.transfer(ALICE, BOB, ED)] + ts)
    with pytest.raises(BadInherent, match="not an inherent"):
        chain.try_block(inherents=ts + [xt.inherent_extrinsic(xt.transfer_call(CHARLIE, ED))])
    chain.block()
    stale_time = xt.inherent_extrinsic(xt.timestamp_set_call(chain.runtime.timestamp(chain.db, chain.root)))
    with pytest.raises(BadInherent, match="TimestampMustIncrease"):
        chain.try_block(inherents=[stale_time])
    with pytest.raises(BadInherent):
        chain.runtime.validate_extrinsic(chain.db, chain.root, ts[0])
    # Unknown pallet / call in a signed extrinsic: the block is invalid.
    with pytest.raises(UnknownCall):
        chain.try_block([chain.signed(ALICE, Call(77, 0, b""))])
    with pytest.raises(UnknownCall):
        chain.runtime.validate_extrinsic(chain.db, chain.root, chain.signed(ALICE, Call(5, 9, b"")))
    with pytest.raises(MalformedExtrinsic):
        chain.try_block([chain.signed(ALICE, Call(5, 0, b"\x01"))])
    # A signed extrinsic may not call an inherent: dispatch fails, fee charged.
    outcome = chain.try_block([chain.signed(ALICE, xt.timestamp_set_call(10**12))])
    assert outcome.extrinsic_results[1].error.error == "BadOrigin"


def test_build_block_drops_invalid_candidates():
    chain = Chain()
    ctx = chain.ctx()
    good = chain.transfer(ALICE, BOB, ED)
    stale_after_good = chain.transfer(ALICE, BOB, 2 * ED)  # same nonce as `good`
    bad_sig = chain.transfer(BOB, ALICE, ED, genesis_hash=bytes(32))
    built = chain.runtime.build_block(chain.db, chain.root, ctx, [good, stale_after_good, bad_sig], segment_headers=[segment_header(0)])
    assert built.extrinsics[2:] == [good]
    assert [type(e) for _, e in built.rejected] == [StaleNonce, BadSignature]
    replay = chain.runtime.execute_block(chain.db, chain.root, ctx, built.extrinsics)
    assert replay.state_root == built.outcome.state_root and replay.consensus_logs == built.outcome.consensus_logs


def test_block_rewards_halving_and_cap():
    chain = Chain(genesis=config(halving_interval=2))
    paid = []
    for _ in range(4):
        before = chain.balance(AUTHOR)
        chain.block()
        paid.append(chain.balance(AUTHOR) - before)
    assert paid == [REWARD, REWARD >> 1, REWARD >> 1, REWARD >> 2]
    capped = Chain(genesis=config(max_reward_issuance=REWARD * 5 // 2))
    paid = []
    for _ in range(4):
        before = capped.balance(AUTHOR)
        capped.block()
        paid.append(capped.balance(AUTHOR) - before)
    assert paid == [REWARD, REWARD, REWARD // 2, 0]


# --- Extra pallets --------------------------------------------------------------------------


class CounterPallet:
    """A pallet as `domains/` would plug in: index 50, storage under its own name."""

    name = "Counter"
    index = 50

    def genesis(self, storage, config):
        storage.set(b"count", scale.encode_u32(int(config.get("start", 0))))

    def on_initialize(self, storage, ctx):
        pass

    def dispatch(self, storage, ctx, origin, call_index, args):
        if call_index != 0:
            raise DispatchError(self.name, "NoSuchCall")
        count = int.from_bytes(storage.get(b"count"), "little")
        if count >= 2:
            raise DispatchError(self.name, "TooMany")
        storage.set(b"count", scale.encode_u32(count + 1))
        storage.balances.transfer(origin.signer, CHARLIE, ED)
        storage.deposit_event("Counted", count=count + 1)

    def on_finalize(self, storage, ctx):
        pass


def test_extra_pallet_dispatch_and_storage():
    chain = Chain(genesis=config(extra={"Counter": {"start": 1}}), extra_pallets=[CounterPallet()])
    call = Call(50, 0, b"")
    outcome = chain.block([chain.signed(ALICE, call), chain.signed(ALICE, call, nonce=1)])
    assert [r.success for r in outcome.extrinsic_results[1:]] == [True, False]
    assert outcome.extrinsic_results[2].error.error == "TooMany"
    key = pallet_prefix("Counter") + b"count"
    value = verify_proof(chain.root, key, get_proof(chain.db, chain.root, key))
    assert value == scale.encode_u32(2)
    assert chain.balance(CHARLIE) == ED
    assert any(e.pallet == "Counter" and e.name == "Counted" for e in outcome.events)
    with pytest.raises(ValueError, match="clashes"):
        Runtime(TEST, [CounterPallet(), CounterPallet()])


# --- Solution ranges (spec §7) --------------------------------------------------------------


def test_solution_range_era_adjustment_blocks_too_fast():
    """TEST: era 4 blocks, slot probability 3/10; one block per slot is ~3x too fast, so the
    range shrinks to current * 4 * 3 / 4 / 10 at every era change, one block after it is
    computed."""
    initial = 10**15
    chain = Chain(genesis=config(enable_solution_range_adjustment=True, initial_solution_range=initial))
    ranges = chain.runtime.solution_ranges(chain.db, chain.root)
    assert (ranges.current, ranges.next, ranges.voting_current) == (initial, None, initial * 10)
    expected = initial
    era_start = 0
    for era in range(3):
        for i in range(1, 5):
            outcome = chain.block()
            assert logs_of(outcome, SolutionRange) == [SolutionRange(expected)]
            if i < 4:
                assert logs_of(outcome, NextSolutionRange) == []
        nxt = derive_next_solution_range(era_start, chain.slot, TEST.slot_probability, expected, TEST.era_duration)
        assert nxt == expected * 4 * 3 // 4 // 10
        assert logs_of(outcome, NextSolutionRange) == [NextSolutionRange(nxt)]
        ranges = chain.runtime.solution_ranges(chain.db, chain.root)
        assert (ranges.current, ranges.next, ranges.voting_next) == (expected, nxt, nxt * 10)
        assert ranges.for_next_block() == (nxt, nxt * 10)
        era_start = chain.slot
        expected = nxt
    outcome = chain.block()
    assert logs_of(outcome, SolutionRange) == [SolutionRange(expected)]
    ranges = chain.runtime.solution_ranges(chain.db, chain.root)
    assert (ranges.current, ranges.next, ranges.voting_current) == (expected, None, expected * 10)


@pytest.mark.parametrize("slot_step,params,factor", [(20, TEST, 4), (1, TEST.with_(slot_probability=(1, 6)), None)])
def test_solution_range_clamps(slot_step, params, factor):
    chain = Chain(params=params, genesis=config(enable_solution_range_adjustment=True), slot_step=slot_step)
    initial = params.initial_solution_range
    for _ in range(4):
        outcome = chain.block()
    (log,) = logs_of(outcome, NextSolutionRange)
    if factor == 4:
        assert log.solution_range == min(initial * 4, U64_MAX)  # slow blocks: clamped at x4
    else:
        assert log.solution_range == initial // 4  # too fast (1/6 of expected): clamped at /4


def test_solution_range_adjustment_disabled_and_enabled_by_root():
    initial = 10**15
    chain = Chain(genesis=config(initial_solution_range=initial))
    assert chain.runtime.solution_ranges(chain.db, chain.root).voting_current == initial  # no votes
    for _ in range(4):
        outcome = chain.block()
    assert logs_of(outcome, NextSolutionRange) == [NextSolutionRange(initial)]
    override = initial // 3
    outcome = chain.block([chain.sudo(xt.enable_solution_range_adjustment_call(override))])
    assert outcome.extrinsic_results[1].success
    assert logs_of(outcome, EnableSolutionRangeAdjustmentAndOverride) == [EnableSolutionRangeAdjustmentAndOverride(override)]
    assert logs_of(outcome, NextSolutionRange) == [NextSolutionRange(override)]
    outcome = chain.block()
    assert logs_of(outcome, SolutionRange) == [SolutionRange(override)]
    assert chain.runtime.solution_ranges(chain.db, chain.root).voting_current == override * 10
    again = chain.block([chain.sudo(xt.enable_solution_range_adjustment_call(None))])
    assert again.extrinsic_results[1].error.error == "SolutionRangeAdjustmentAlreadyEnabled"
    # Only root may call it.
    denied = chain.block([chain.signed(ALICE, xt.enable_solution_range_adjustment_call(None))])
    assert denied.extrinsic_results[1].error.error == "BadOrigin"


# --- PoT parameters (spec §2) ---------------------------------------------------------------


def test_entropy_injection_schedule():
    """TEST: interval 5, lookback 2, delay 4; two slots per block. Block 5's entropy is
    injected at the slot of block 15 + 4; every block whose source block (floor(N/5)*5 - 10)
    still has an entry announces it; an entry is pruned once a block's slot passes its
    target."""
    chain = Chain(slot_step=2)
    ctxs, changes = {}, {}
    for n in range(1, 30):
        ctx = chain.ctx()
        ctxs[n] = ctx
        outcome = chain.block(ctx=ctx)
        assert logs_of(outcome, PotSlotIterations) == [PotSlotIterations(TEST.pot_iterations)]
        found = logs_of(outcome, PotParametersChange)
        assert len(found) <= 1
        changes[n] = found[0] if found else None
        # The query reads the state after the block: an entry pruned by the block is gone.
        pruned = changes[n] is not None and changes[n].slot < ctx.slot
        assert chain.runtime.pot_parameters(chain.db, chain.root) == (TEST.pot_iterations, None if pruned else changes[n])

    def entropy(n):
        return pot.derive_pot_entropy(ctxs[n].solution_chunk, ctxs[n].pot_output)

    assert all(changes[n] is None for n in range(1, 15))
    for source, first in ((5, 15), (10, 20), (15, 25)):
        target = ctxs[first].slot + TEST.pot_entropy_injection_delay
        expected = PotParametersChange(slot=target, slot_iterations=TEST.pot_iterations, entropy=entropy(source))
        announced = [n for n in range(first, first + 5) if changes[n] == expected]
        # Announced from the injecting block until the first block whose slot is past the
        # target (that block still announces it, then prunes the entry).
        last = next(n for n in range(first, first + 5) if ctxs[n].slot > target)
        assert announced == list(range(first, last + 1))
        assert all(changes[n] is None for n in range(last + 1, first + 5))


def test_set_pot_slot_iterations_rules():
    chain = Chain(slot_step=2)
    base = TEST.pot_iterations

    def sudo_set(n):
        outcome = chain.block([chain.sudo(xt.set_pot_slot_iterations_call(n))])
        result = outcome.extrinsic_results[1]
        return None if result.success else result.error.error

    assert sudo_set(base + 8) == "NotMultipleOfCheckpoints"
    assert sudo_set(base) == "PotSlotIterationsMustIncrease"
    denied = chain.block([chain.signed(ALICE, xt.set_pot_slot_iterations_call(base * 4))])
    assert denied.extrinsic_results[1].error.error == "BadOrigin"
    assert sudo_set(base * 4) is None
    assert sudo_set(base * 2) is None  # not yet scheduled: replaced
    while chain.number < 14:
        chain.block()
    outcome = chain.block()  # block 15 schedules the update at its slot + 4
    target = chain.slot + TEST.pot_entropy_injection_delay
    (change,) = logs_of(outcome, PotParametersChange)
    assert (change.slot, change.slot_iterations) == (target, base * 2)
    assert sudo_set(base * 8) == "PotSlotIterationsUpdateAlreadyScheduled"  # block 16
    iterations = []
    while chain.slot <= target + 2:
        outcome = chain.block()
        iterations.append((chain.slot, logs_of(outcome, PotSlotIterations)[0].slot_iterations))
    # The log carries the count in force after the parent: the new count from the block after
    # the first block at or past the target slot.
    for slot, value in iterations:
        assert value == (base * 2 if slot > target else base)
    assert chain.runtime.pot_parameters(chain.db, chain.root)[0] == base * 2
    assert sudo_set(base * 2) == "PotSlotIterationsMustIncrease"


# --- Segment headers (spec §8) --------------------------------------------------------------


def test_store_segment_headers():
    chain = Chain()
    assert chain.runtime.history_size(chain.db, chain.root) == 1
    headers = [segment_header(0)]
    outcome = chain.block(segment_headers=headers)
    assert logs_of(outcome, SegmentCommitment) == [SegmentCommitment(0, headers[0].segment_commitment)]
    assert chain.runtime.segment_commitment(chain.db, chain.root, 0) == headers[0].segment_commitment
    assert chain.runtime.segment_commitment(chain.db, chain.root, 1) is None
    assert chain.runtime.history_size(chain.db, chain.root) == 1
    more = [segment_header(1, 3), segment_header(2, 3)]
    outcome = chain.block(segment_headers=more)
    assert [log.segment_index for log in logs_of(outcome, SegmentCommitment)] == [1, 2]
    assert chain.runtime.history_size(chain.db, chain.root) == 3
    assert chain.runtime.segment_commitment(chain.db, chain.root, 2) == more[1].segment_commitment
    # Out of order (or repeated) segments make the block invalid.
    with pytest.raises(BadInherent, match="SegmentHeaderOutOfOrder"):
        ctx = chain.ctx()
        chain.runtime.execute_block(chain.db, chain.root, ctx, chain.runtime.inherent_extrinsics(ctx, [segment_header(4)]))
    # Signed accounts cannot store segment headers.
    outcome = chain.block([chain.signed(ALICE, xt.store_segment_headers_call([segment_header(3)]))])
    assert outcome.extrinsic_results[1].error.error == "BadOrigin"
    assert chain.runtime.history_size(chain.db, chain.root) == 3
