"""The consensus-side domains pallet (spec/domains.md §2.3, §2.6, §2.7) on an in-memory storage,
without the consensus runtime: submit_bundle checks, the execution inbox, the block tree and
confirmation after the challenge depth."""

from __future__ import annotations

import hashlib

import pytest

from chain.keys import Ed25519Signer
from chain.runtime.pallet import BlockContext, DispatchError, Origin, Pallet
from domains.bundles import Bundle, InvalidBundle, Weight, make_bundle, seal_bundle
from domains.receipts import (
    ExecutionReceipt,
    InboxedBundle,
    InvalidReceipt,
    ReceiptType,
    ZERO_HASH,
    genesis_receipt,
    merkle_root,
)
from domains.runtime import (
    TEST,
    DomainConfig,
    DomainsPallet,
    GenesisDomain,
    GenesisOperator,
    block_tree_node,
    bundles_from_calls,
    consensus_block_hash,
    execution_inbox,
    genesis_config,
    head_domain_number,
    head_receipt_number,
    latest_confirmed_receipt,
    receipt_hash_at,
    submit_bundle_call,
    successful_bundles,
)

SIGNER = Ed25519Signer.dev("operator")
STRANGER = Ed25519Signer.dev("mallory")
DOMAIN = 0
OPERATOR = 0
POT = bytes(range(16))
DEPTH = TEST.challenge_depth


class MemStorage:
    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.data[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self.data.pop(key, None)


def h(*parts) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=32).digest()


def consensus_hash(number: int) -> bytes:
    return h("consensus block", number)


def context(number: int, slot: int | None = None) -> BlockContext:
    return BlockContext(number=number, parent_hash=consensus_hash(number - 1), slot=number * 6 if slot is None else slot,
                        timestamp=number * 6000, farmer_public_key=bytes(32), reward_address=bytes(32),
                        solution_chunk=bytes(32), pot_output=POT, randomness=h("randomness", number))


def fake_receipt(number: int, parent: ExecutionReceipt, consensus_number: int, inbox_roots, *,
                 trace=None) -> ExecutionReceipt:
    trace = tuple(trace or (h("root", number, 0), h("root", number, 1), h("root", number, 2)))
    return ExecutionReceipt(
        domain_block_number=number, domain_block_hash=h("domain block", number), domain_block_extrinsic_root=h("xt", number),
        parent_domain_block_receipt_hash=parent.hash(), consensus_block_number=consensus_number,
        consensus_block_hash=consensus_hash(consensus_number),
        inboxed_bundles=tuple(InboxedBundle.valid(h("digest", r), r) for r in inbox_roots),
        final_state_root=trace[-1], execution_trace=trace, execution_trace_root=merkle_root(trace))


GENESIS_ER = genesis_receipt(h("genesis block"), h("genesis state"), h("genesis xt root"))
CONFIG = DomainConfig.with_default_limits(TEST, domain_id=DOMAIN, domain_name="auto-evm", chain_id=8_701_337)


class Sim:
    """Drives the pallet block by block like the runtime would, and plays an honest operator
    that derives receipts (fake roots) for every consensus block that inboxed bundles."""

    def __init__(self, params=TEST, config=CONFIG) -> None:
        self.pallet = DomainsPallet(params)
        self.storage = MemStorage()
        self.pallet.genesis(self.storage, genesis_config([
            GenesisDomain(config, GENESIS_ER, (GenesisOperator(OPERATOR, SIGNER.public_key),))]))
        self.number = 0
        self.receipts = {0: GENESIS_ER}
        self.ctx: BlockContext | None = None
        self._inboxed: list[bytes] = []

    def begin(self, slot: int | None = None) -> BlockContext:
        self.number += 1
        self.ctx = context(self.number, slot)
        self.pallet.on_initialize(self.storage, self.ctx)
        self._inboxed = []
        return self.ctx

    def end(self) -> None:
        self.pallet.on_finalize(self.storage, self.ctx)
        if self._inboxed:  # the operator derives the domain block of this consensus block
            n = max(self.receipts) + 1
            self.receipts[n] = fake_receipt(n, self.receipts[n - 1], self.number, self._inboxed)

    def bundle(self, *, slot: int | None = None, receipt: ExecutionReceipt | None = None, extrinsics=(b"tx-a", b"tx-b"),
               signer=SIGNER, gas=(21_000, 21_000)) -> Bundle:
        return make_bundle(signer, domain_id=DOMAIN, operator_id=OPERATOR,
                           slot=self.ctx.slot if slot is None else slot, proof_of_time=POT,
                           receipt=self.receipts[max(self.receipts)] if receipt is None else receipt,
                           extrinsics=list(extrinsics), gas_limits=list(gas))

    def submit(self, bundle: Bundle) -> ReceiptType:
        result = self.pallet.submit_bundle(self.storage, self.ctx, bundle)
        self._inboxed.append(bundle.extrinsics_root)
        return result

    def block_with_bundle(self, **kwargs) -> Bundle:
        self.begin()
        bundle = self.bundle(**kwargs)
        self.submit(bundle)
        self.end()
        return bundle


def test_pallet_implements_the_protocol():
    assert isinstance(DomainsPallet(TEST), Pallet)


def test_genesis_imports_the_genesis_receipt_confirmed():
    sim = Sim()
    assert head_receipt_number(sim.storage, DOMAIN) == 0 and head_domain_number(sim.storage, DOMAIN) == 0
    assert receipt_hash_at(sim.storage, DOMAIN, 0) == GENESIS_ER.hash()
    assert latest_confirmed_receipt(sim.storage, DOMAIN) == GENESIS_ER


def test_accepts_a_valid_bundle_and_inboxes_it():
    sim = Sim()
    ctx = sim.begin()
    bundle = sim.bundle()
    assert sim.submit(bundle) == ReceiptType.CURRENT_HEAD  # the genesis ER, before any domain block
    assert head_domain_number(sim.storage, DOMAIN) == 1
    [digest] = execution_inbox(sim.storage, DOMAIN, 1, ctx.number)
    assert digest.header_hash == bundle.header.hash() and digest.extrinsics_root == bundle.extrinsics_root
    assert digest.size == bundle.header.bundle_size
    assert successful_bundles(sim.storage, DOMAIN) == [bundle.hash()]
    sim.end()
    # The next block records the hash of the block that defined domain block 1 ...
    ctx2 = sim.begin()
    assert consensus_block_hash(sim.storage, DOMAIN, 1) == ctx2.parent_hash
    assert successful_bundles(sim.storage, DOMAIN) == []
    # ... so the receipt of domain block 1 is accepted as the new head.
    assert sim.submit(sim.bundle()) == ReceiptType.NEW_HEAD
    assert head_receipt_number(sim.storage, DOMAIN) == 1
    assert block_tree_node(sim.storage, sim.receipts[1].hash()).operator_ids == (OPERATOR,)


def test_an_inbox_per_consensus_block():
    sim = Sim()
    sim.begin()
    first, second = sim.bundle(slot=5, extrinsics=[b"x1"], gas=[1]), sim.bundle(slot=6, extrinsics=[b"x2"], gas=[1])
    sim.submit(first)
    sim.submit(second)
    sim.end()
    assert [d.extrinsics_root for d in execution_inbox(sim.storage, DOMAIN, 1, 1)] == [first.extrinsics_root,
                                                                                        second.extrinsics_root]
    sim.begin()
    third = sim.bundle(extrinsics=[b"x3"], gas=[1])
    sim.submit(third)
    sim.end()
    assert [d.extrinsics_root for d in execution_inbox(sim.storage, DOMAIN, 2, 2)] == [third.extrinsics_root]
    assert head_domain_number(sim.storage, DOMAIN) == 2
    # The receipt of domain block 1 lists exactly the first inbox.
    assert [b.extrinsics_root for b in sim.receipts[1].inboxed_bundles] == [first.extrinsics_root, second.extrinsics_root]


def test_second_bundle_in_a_block_confirms_the_new_head():
    sim = Sim()
    sim.block_with_bundle()
    sim.begin()
    assert sim.submit(sim.bundle(slot=sim.ctx.slot - 1)) == ReceiptType.NEW_HEAD
    assert sim.submit(sim.bundle(slot=sim.ctx.slot)) == ReceiptType.CURRENT_HEAD
    assert block_tree_node(sim.storage, sim.receipts[1].hash()).operator_ids == (OPERATOR, OPERATOR)
    sim.end()
    # In a later block, the same receipt is stale (the head is not extended there).
    sim.begin()
    with pytest.raises(InvalidReceipt) as err:
        sim.pallet.submit_bundle(sim.storage, sim.ctx, sim.bundle(receipt=sim.receipts[1]))
    assert err.value.check == "Stale"


def rejected(sim: Sim, bundle: Bundle) -> str:
    """The check a bundle fails in submit_bundle, and the same through dispatch."""
    with pytest.raises((InvalidBundle, InvalidReceipt)) as err:
        sim.pallet.submit_bundle(sim.storage, sim.ctx, bundle)
    with pytest.raises(DispatchError) as dispatch_err:
        sim.pallet.dispatch(sim.storage, sim.ctx, Origin(), 0, bundle.encode())
    assert dispatch_err.value.module == "Domains" and dispatch_err.value.error == err.value.check
    return err.value.check


@pytest.fixture
def sim_at_block_3():
    sim = Sim()
    sim.block_with_bundle()
    sim.block_with_bundle()
    sim.begin()
    return sim


def test_rejects_a_bad_signature(sim_at_block_3):
    sim = sim_at_block_3
    bundle = sim.bundle()
    forged = Bundle(bundle.header, STRANGER.sign(bundle.header.hash()), bundle.extrinsics)
    assert rejected(sim, forged) == "BadSignature"
    # A signed header whose body was then swapped: the body checks fire before the signature.
    assert rejected(sim, Bundle(bundle.header, bundle.signature, (b"other",))) == "WrongBundleSize"
    assert rejected(sim, Bundle(bundle.header, bundle.signature, (b"tx-c", b"tx-d"))) == "WrongExtrinsicsRoot"
    # A tampered header field (same body) breaks the signature.
    from dataclasses import replace
    tampered = Bundle(replace(bundle.header, estimated_bundle_weight=Weight(1, 0)), bundle.signature, bundle.extrinsics)
    assert rejected(sim, tampered) == "BadSignature"


def test_rejects_slots_out_of_the_window(sim_at_block_3):
    sim = sim_at_block_3
    assert rejected(sim, sim.bundle(slot=sim.ctx.slot + 1)) == "SlotInTheFuture"
    # Blocks are 6 slots apart here; bundle_longevity = 5 blocks back is block max(0, 3-5) = 0.
    for _ in range(6):
        sim.end()
        sim.begin()
    oldest = (sim.number - TEST.bundle_longevity) * 6
    assert rejected(sim, sim.bundle(slot=oldest - 1)) == "StaleBundle"
    assert sim.submit(sim.bundle(slot=oldest)) == ReceiptType.NEW_HEAD


def test_rejects_a_stale_slot_even_from_a_fresh_operator():
    sim = Sim()
    for _ in range(8):  # blocks without bundles
        sim.begin()
        sim.end()
    sim.begin()
    oldest = (sim.number - TEST.bundle_longevity) * 6
    assert rejected(sim, sim.bundle(slot=oldest - 1)) == "StaleBundle"
    assert sim.submit(sim.bundle(slot=oldest)) == ReceiptType.CURRENT_HEAD


def test_rejects_oversize_and_overweight_bundles(sim_at_block_3):
    sim = sim_at_block_3
    big = [b"\x01" * 60_000] * (CONFIG.max_bundle_size // 60_000 + 1)
    assert rejected(sim, sim.bundle(extrinsics=big, gas=[21_000] * len(big))) == "BundleTooLarge"
    heavy_gas = CONFIG.max_bundle_weight.ref_time // 25_000 + 1
    assert rejected(sim, sim.bundle(extrinsics=[b"x"], gas=[heavy_gas])) == "BundleTooHeavy"


def test_rejects_a_wrong_extrinsics_root(sim_at_block_3):
    sim = sim_at_block_3
    bundle = sim.bundle()
    header = bundle.header
    from dataclasses import replace
    resealed = seal_bundle(replace(header, bundle_extrinsics_root=h("not the body")), SIGNER, bundle.extrinsics)
    assert rejected(sim, resealed) == "WrongExtrinsicsRoot"


def test_rejects_an_unknown_operator_and_a_forged_election(sim_at_block_3):
    sim = sim_at_block_3
    stranger = make_bundle(STRANGER, domain_id=DOMAIN, operator_id=7, slot=sim.ctx.slot, proof_of_time=POT,
                           receipt=sim.receipts[2], extrinsics=[b"x"], gas_limits=[1])
    assert rejected(sim, stranger) == "UnknownOperator"
    honest = sim.bundle()
    from dataclasses import replace
    poe = honest.header.proof_of_election
    other_pot = replace(poe, proof_of_time=bytes(16))  # the election proof was for another PoT output
    forged = seal_bundle(replace(honest.header, proof_of_election=other_pot), SIGNER, honest.extrinsics)
    assert rejected(sim, forged) == "BadVrfSignature"


def test_rejects_a_receipt_skipping_a_height(sim_at_block_3):
    sim = sim_at_block_3
    # Head receipt is 1 (submitted in block 2); receipt 2 is next; a receipt 3 skips a height.
    skipping = fake_receipt(3, sim.receipts[2], 2, [h("r")])
    assert rejected(sim, sim.bundle(receipt=skipping)) == "InFuture"


def test_rejects_a_receipt_with_a_wrong_parent(sim_at_block_3):
    sim = sim_at_block_3
    good = sim.receipts[2]
    from dataclasses import replace
    assert rejected(sim, sim.bundle(receipt=replace(good, parent_domain_block_receipt_hash=h("bogus")))) == "WrongParent"


def test_rejects_receipts_breaking_the_structural_rules(sim_at_block_3):
    sim = sim_at_block_3
    good = sim.receipts[2]
    from dataclasses import replace
    cases = {
        "TraceRootMismatch": replace(good, execution_trace_root=h("x")),
        "FinalStateRootMismatch": replace(good, final_state_root=h("x")),
        "TraceTooShort": replace(good, execution_trace=good.execution_trace[:1],
                                 execution_trace_root=merkle_root(good.execution_trace[:1]),
                                 final_state_root=good.execution_trace[0]),
        "WrongConsensusBlockHash": replace(good, consensus_block_hash=h("x")),
        "InboxMismatch": replace(good, inboxed_bundles=good.inboxed_bundles + good.inboxed_bundles),
    }
    for check, receipt in cases.items():
        assert rejected(sim, sim.bundle(receipt=receipt)) == check, check
    assert sim.submit(sim.bundle(receipt=good)) == ReceiptType.NEW_HEAD


def test_rejects_a_competing_receipt_at_an_existing_height():
    sim = Sim()
    for _ in range(3):
        sim.block_with_bundle()
    sim.begin()
    from dataclasses import replace
    other = replace(sim.receipts[1], domain_block_hash=h("a different block 1"))
    assert rejected(sim, sim.bundle(receipt=other)) == "NewBranch"


def test_slot_order_and_equivocation(sim_at_block_3):
    sim = sim_at_block_3
    slot = sim.ctx.slot
    sim.submit(sim.bundle(slot=slot))
    assert rejected(sim, sim.bundle(slot=slot, extrinsics=[b"other"], gas=[1])) == "Equivocation"
    sim.end()
    sim.begin()
    # The operator's highest slot of earlier blocks is `slot`: not above it is refused.
    assert rejected(sim, sim.bundle(slot=slot)) == "SlotNotIncreasing"


def test_confirmation_after_the_challenge_depth():
    sim = Sim()
    confirmed = []
    for _ in range(DEPTH + 4):
        sim.block_with_bundle()
        confirmed.append(latest_confirmed_receipt(sim.storage, DOMAIN).domain_block_number)
    head = head_receipt_number(sim.storage, DOMAIN)
    assert head == DEPTH + 3  # block 1 carried the genesis ER, block k carried receipt k-1
    # After receipt n became the head, receipt n - DEPTH is confirmed.
    assert confirmed == [0] * (DEPTH + 1) + [1, 2, 3]
    assert latest_confirmed_receipt(sim.storage, DOMAIN) == sim.receipts[head - DEPTH]
    # Confirmed receipts leave the tree, with their inbox and consensus-hash record.
    for n in range(1, head - DEPTH + 1):
        assert receipt_hash_at(sim.storage, DOMAIN, n) is None
        assert execution_inbox(sim.storage, DOMAIN, n, sim.receipts[n].consensus_block_number) == []
        assert consensus_block_hash(sim.storage, DOMAIN, sim.receipts[n].consensus_block_number) is None
    for n in range(head - DEPTH + 1, head + 1):
        assert receipt_hash_at(sim.storage, DOMAIN, n) == sim.receipts[n].hash()
    # A receipt at or below the confirmed height is "Pruned".
    sim.begin()
    assert rejected(sim, sim.bundle(receipt=sim.receipts[1])) == "Pruned"


def test_receipt_gap_is_refused_when_the_head_receipt_lags():
    sim = Sim()
    sim.block_with_bundle()
    # Force a gap: a domain block defined without its receipt being submitted (fraud-proof
    # pruning or a runtime upgrade would do this live).
    sim.storage.set(b"HeadDomainNumber" + (0).to_bytes(4, "little"), (3).to_bytes(4, "little"))
    sim.begin()
    assert rejected(sim, sim.bundle()) == "ReceiptGapTooLarge"


def test_submit_bundle_call_round_trip():
    sim = Sim()
    sim.begin()
    bundle = sim.bundle()
    call = submit_bundle_call(bundle, pallet_index=sim.pallet.index)
    assert bundles_from_calls([call], DOMAIN, pallet_index=sim.pallet.index) == [bundle]
    assert bundles_from_calls([call], DOMAIN + 1, pallet_index=sim.pallet.index) == []
    sim.pallet.dispatch(sim.storage, sim.ctx, Origin(), call.call_index, call.args)
    assert successful_bundles(sim.storage, DOMAIN) == [bundle.hash()]
    with pytest.raises(DispatchError) as err:
        sim.pallet.dispatch(sim.storage, sim.ctx, Origin(), 0, b"\x00garbage")
    assert err.value.error == "UndecodableBundle"


def test_weight_type_limits():
    assert Weight(1, 1).fits_in(Weight(1, 1)) and not Weight(2, 0).fits_in(Weight(1, 5))
    assert CONFIG.max_bundle_size == TEST.max_domain_block_size // 6
    assert ZERO_HASH == bytes(32)
