"""Bundles, execution receipts, domain block derivation and the operator (spec/domains.md
§2.1-§2.5, §2.7): encodings and hashes, signatures, dedup and shuffle, timestamp and
prevRandao, the execution trace and its Merkle proofs, receipts chaining, empty bundles; and an
operator feeding the domains pallet end to end."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak, to_canonical_address

from chain.keys import Ed25519Signer
from chain.runtime.pallet import BlockContext
from domains.bundles import (
    ChaCha8Rng,
    Bundle,
    InvalidBundle,
    bundle_extrinsics_root,
    check_bundle_signature,
    fisher_yates_shuffle,
    make_bundle,
    shuffle_extrinsics,
    shuffling_seed,
    signer_in_tx_range,
    tx_range_for,
    vrf_hash,
)
from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.operator import RECEIPT_KEY_PREFIX, Operator, OperatorError, derive_domain_block, execution_trace, genesis_domain, genesis_receipt_of
from domains.receipts import (
    BlockFees,
    ChainId,
    ExecutionReceipt,
    InboxedBundle,
    InvalidBundleType,
    Transfers,
    execution_trace_root,
    merkle_proof,
    merkle_root,
    verify_merkle_proof,
)
from domains.runtime import TEST, DomainConfig, DomainsPallet, genesis_config, head_receipt_number, latest_confirmed_receipt

ACCOUNTS = dev_accounts()
SIGNER = Ed25519Signer.dev("operator")
POT = bytes(range(16))


def raw_tx(chain_id: int, sender: int = 0, nonce: int = 0, **fields) -> bytes:
    tx = {"chainId": chain_id, "nonce": nonce, "to": ACCOUNTS[9][0], "value": 1, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "type": 2}
    tx.update(fields)
    return bytes(Account.sign_transaction(tx, ACCOUNTS[sender][1]).raw_transaction)


def sender_of(i: int) -> bytes:
    return to_canonical_address(ACCOUNTS[i][0])


@pytest.fixture
def node(tmp_path):
    chain = DomainChain.create(tmp_path / "domain", dev_genesis())
    yield DomainNode(chain)
    chain.close()


def all_in_range(node) -> DomainConfig:
    """A config whose tx range admits every signer (so bundles are predictable in tests)."""
    return DomainConfig.with_default_limits(TEST, domain_id=0, domain_name="auto-evm", chain_id=node.chain_id,
                                            tx_range_divisor=1)


def operator(node, **kwargs) -> Operator:
    kwargs.setdefault("config", all_in_range(node))
    return Operator(node, SIGNER, 0, 0, params=TEST, **kwargs)


def h(*parts) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=32).digest()


# -- encodings ----------------------------------------------------------------------------------


def sample_receipt() -> ExecutionReceipt:
    trace = (h(1), h(2), h(3))
    return ExecutionReceipt(
        domain_block_number=7, domain_block_hash=h("b"), domain_block_extrinsic_root=h("x"),
        parent_domain_block_receipt_hash=h("p"), consensus_block_number=42, consensus_block_hash=h("c"),
        inboxed_bundles=(InboxedBundle.valid(h("d"), h("r1")),
                         InboxedBundle.invalid(InvalidBundleType.ILLEGAL_TX, 3, h("r2")),
                         InboxedBundle.invalid(InvalidBundleType.INVALID_BUNDLE_WEIGHT, None, h("r3"))),
        final_state_root=trace[-1], execution_trace=trace, execution_trace_root=merkle_root(trace),
        block_fees=BlockFees(1, 2, 3, ((ChainId(5), 9), (ChainId(None), 4))),
        transfers=Transfers(transfers_in=((ChainId(None), 10**20),)))


def test_receipt_round_trip_and_hash():
    receipt = sample_receipt()
    encoded = receipt.encode()
    decoded = ExecutionReceipt.decode(encoded)
    assert decoded.encode() == encoded and decoded.hash() == receipt.hash()
    assert receipt.hash() == hashlib.blake2b(encoded, digest_size=32).digest()
    # Maps encode in key order whatever order they were given in.
    assert decoded.block_fees.chain_rewards == ((ChainId(None), 4), (ChainId(5), 9))
    assert replace(receipt, consensus_block_number=43).hash() != receipt.hash()
    with pytest.raises(ValueError):
        ExecutionReceipt.decode(encoded + b"\x00")


def test_bundle_round_trip_hash_and_signature():
    extrinsics = [b"\x02" + bytes(100), b"\x01" * 40]
    bundle = make_bundle(SIGNER, domain_id=0, operator_id=3, slot=99, proof_of_time=POT, receipt=sample_receipt(),
                         extrinsics=extrinsics, gas_limits=[21_000, 50_000])
    encoded = bundle.encode()
    decoded = Bundle.decode(encoded)
    assert decoded == bundle and decoded.hash() == bundle.hash()
    assert bundle.hash() == hashlib.blake2b(encoded, digest_size=32).digest()
    assert bundle.header.bundle_size == (2 + 101) + (1 + 40)  # compact prefixes: 2 bytes from 64
    assert bundle.header.estimated_bundle_weight.ref_time == 71_000 * 25_000
    assert bundle.extrinsics_root == bundle_extrinsics_root(extrinsics)
    check_bundle_signature(bundle, SIGNER.public_key)
    with pytest.raises(InvalidBundle) as err:
        check_bundle_signature(bundle, Ed25519Signer.dev("mallory").public_key)
    assert err.value.check == "BadSignature" and "operator 3" in str(err.value)
    tampered = Bundle(replace(bundle.header, bundle_size=1), bundle.signature, bundle.extrinsics)
    with pytest.raises(InvalidBundle, match="BadSignature"):
        check_bundle_signature(tampered, SIGNER.public_key)


def test_extrinsics_root_is_the_evm_transactions_root(node):
    raws = [raw_tx(node.chain_id, 0, n) for n in range(3)]
    built = node.produce_block(1, transactions=[node.pool_view().decode(r) for r in raws])
    assert bundle_extrinsics_root(raws) == built.block.header.transaction_root
    assert bundle_extrinsics_root([]) == genesis_receipt_of(node.chain).domain_block_extrinsic_root


# -- Merkle tree --------------------------------------------------------------------------------


def test_merkle_root_and_proofs():
    assert merkle_root([h(0)]) == h(0)
    assert merkle_root([h(0), h(1)]) == hashlib.blake2b(h(0) + h(1), digest_size=32).digest()
    # Odd node carried up: root of 3 = H(H(a‖b) ‖ c).
    ab = hashlib.blake2b(h(0) + h(1), digest_size=32).digest()
    assert merkle_root([h(0), h(1), h(2)]) == hashlib.blake2b(ab + h(2), digest_size=32).digest()
    for count in range(1, 12):
        leaves = [h(i) for i in range(count)]
        root = merkle_root(leaves)
        for index in range(count):
            proof = merkle_proof(leaves, index)
            assert verify_merkle_proof(root, leaves[index], index, count, proof)
            assert not verify_merkle_proof(root, h("other"), index, count, proof)
            if count > 1:
                assert not verify_merkle_proof(root, leaves[index], (index + 1) % count, count, proof)


# -- shuffle ------------------------------------------------------------------------------------


def test_chacha8_rng_ranges_and_determinism():
    rng = ChaCha8Rng(bytes(32))
    values = [rng.gen_index(6) for _ in range(6000)]
    assert set(values) == set(range(6))
    assert all(800 < c < 1200 for c in Counter(values).values())
    again = ChaCha8Rng(bytes(32))
    assert [again.gen_index(6) for _ in range(6000)] == values
    assert fisher_yates_shuffle(list(range(20)), ChaCha8Rng(bytes(32))) == fisher_yates_shuffle(list(range(20)),
                                                                                                  ChaCha8Rng(bytes(32)))


def test_shuffle_keeps_each_signers_order_and_depends_on_the_seed():
    items = [(bytes([s]) * 20, h(s, n), b"%d-%d" % (s, n)) for s in range(8) for n in range(4)]
    first = shuffle_extrinsics(items, shuffling_seed(h("r1")))
    assert sorted(first) == sorted(raw for _, _, raw in items)
    assert first == shuffle_extrinsics(items, shuffling_seed(h("r1")))
    assert first != shuffle_extrinsics(items, shuffling_seed(h("r2")))
    for s in range(8):
        mine = [raw for raw in first if raw.startswith(b"%d-" % s)]
        assert mine == [b"%d-%d" % (s, n) for n in range(4)]


def test_tx_range():
    poe_hash = h("vrf")
    senders = [sender_of(i) for i in range(10)]
    assert all(signer_in_tx_range(poe_hash, s, tx_range_for(1)) for s in senders)
    # With U256::MAX / 3, a signer is within range of about a third of the vrf hashes.
    inside = [signer_in_tx_range(h("vrf", i), s, tx_range_for(3)) for i in range(300) for s in senders]
    assert 0.28 < sum(inside) / len(inside) < 0.39
    assert signer_in_tx_range(poe_hash, None, tx_range_for(3))  # unsigned: always in range


# -- derivation and execution -------------------------------------------------------------------


def bundle_of(node, raws, slot=1, receipt=None) -> Bundle:
    view = node.pool_view()
    txs = [view.decode(r) for r in raws]
    return make_bundle(SIGNER, domain_id=0, operator_id=0, slot=slot, proof_of_time=POT,
                       receipt=receipt or genesis_receipt_of(node.chain), extrinsics=raws, gas_limits=[t.gas for t in txs])


def test_derivation_dedups_and_orders_by_randomness(node):
    raws = [raw_tx(node.chain_id, s, n) for s in range(6) for n in range(2)]
    a = bundle_of(node, raws[:8], slot=1)
    b = bundle_of(node, raws[4:], slot=2)  # overlaps a on raws[4:8]
    view = node.pool_view()
    everyone = tx_range_for(1)
    first = derive_domain_block([a, b], h("randomness 1"), view, everyone)
    assert [c.inboxed.is_valid for c in first.checked] == [True, True]
    assert sorted(tx.hash for tx in first.transactions) == sorted({view.decode(r).hash for r in raws})
    again = derive_domain_block([a, b], h("randomness 1"), view, everyone)
    other = derive_domain_block([a, b], h("randomness 2"), view, everyone)
    assert [t.hash for t in again.transactions] == [t.hash for t in first.transactions]
    assert [t.hash for t in other.transactions] != [t.hash for t in first.transactions]
    # Each sender's nonces stay in order.
    for order in (first, other):
        for s in range(6):
            nonces = [t.nonce for t in order.transactions if t.sender == sender_of(s)]
            assert nonces == [0, 1]


def test_invalid_bundles_are_excluded_whole(node):
    view = node.pool_view()
    everyone = tx_range_for(1)
    good = bundle_of(node, [raw_tx(node.chain_id, 0, 0)], slot=1)
    gap = bundle_of(node, [raw_tx(node.chain_id, 1, 0), raw_tx(node.chain_id, 2, 1)], slot=2)  # nonce 1 first
    garbage = make_bundle(SIGNER, domain_id=0, operator_id=0, slot=3, proof_of_time=POT,
                          receipt=genesis_receipt_of(node.chain), extrinsics=[raw_tx(node.chain_id, 3, 0), b"\x02junk"],
                          gas_limits=[21_000, 0])
    wrong_weight = make_bundle(SIGNER, domain_id=0, operator_id=0, slot=4, proof_of_time=POT,
                               receipt=genesis_receipt_of(node.chain), extrinsics=[raw_tx(node.chain_id, 4, 0)],
                               gas_limits=[1])
    poor = bundle_of(node, [raw_tx(node.chain_id, 5, 0, value=9_000 * 10**18), raw_tx(node.chain_id, 5, 1, value=9_000 * 10**18)],
                     slot=5)  # each affordable alone, not both
    derived = derive_domain_block([good, gap, garbage, wrong_weight, poor], h("r"), view, everyone)
    kinds = [(c.inboxed.invalid_type, c.inboxed.extrinsic_index) for c in derived.checked]
    assert kinds == [(None, None), (InvalidBundleType.ILLEGAL_TX, 1), (InvalidBundleType.UNDECODABLE_TX, 1),
                     (InvalidBundleType.INVALID_BUNDLE_WEIGHT, None), (InvalidBundleType.ILLEGAL_TX, 1)]
    assert [t.sender for t in derived.transactions] == [sender_of(0)]
    # A narrow tx range excludes a bundle whose signers are out of range.
    narrow = tx_range_for(2**200)
    out = derive_domain_block([good], h("r"), view, narrow)
    assert out.checked[0].inboxed.invalid_type == InvalidBundleType.OUT_OF_RANGE_TX
    assert signer_in_tx_range(vrf_hash(good.header.proof_of_election), sender_of(0), narrow) is False


def test_pool_verified_transactions_are_not_decoded_again(node):
    """The operator hands derivation its pool's decoded transactions (`Operator._pool_verified`):
    same derived block; only bytes the pool holds exactly are taken from it."""
    op = operator(node)
    pooled = [raw_tx(node.chain_id, s, 0) for s in range(3)]
    for raw in pooled:
        node.submit_raw_transaction(raw)
    outsider = raw_tx(node.chain_id, 4, 0)
    bundle = bundle_of(node, pooled + [outsider], slot=1)
    asked = []

    def verified(raw):
        found = op._pool_verified(raw)
        asked.append((raw, found is not None))
        return found

    view = node.pool_view()
    plain = derive_domain_block([bundle], h("r"), view, tx_range_for(1))
    fast = derive_domain_block([bundle], h("r"), view, tx_range_for(1), verified=verified)
    assert asked == [(raw, raw != outsider) for raw in bundle.extrinsics]
    assert fast.checked == plain.checked
    assert [t.hash for t in fast.transactions] == [t.hash for t in plain.transactions]
    first = node.pool.get(keccak(pooled[0]))
    assert next(t for t in fast.transactions if t.hash == first.hash) is first.tx
    # An entry under the bytes' hash whose own bytes differ is not used (simulated: two
    # encodings cannot share a hash).
    node.pool._by_hash[keccak(outsider)] = node.pool.get(keccak(pooled[1]))
    assert op._pool_verified(outsider) is None
    # Garbage is still undecodable, whatever the pool holds.
    junk = make_bundle(SIGNER, domain_id=0, operator_id=0, slot=2, proof_of_time=POT,
                       receipt=genesis_receipt_of(node.chain), extrinsics=[b"\x02junk"], gas_limits=[0])
    out = derive_domain_block([junk], h("r"), view, tx_range_for(1), verified=op._pool_verified)
    assert out.checked[0].inboxed.invalid_type == InvalidBundleType.UNDECODABLE_TX


def test_operator_executes_the_domain_block_and_its_trace(node):
    op = operator(node)
    for s in range(3):
        for n in range(2):
            node.submit_raw_transaction(raw_tx(node.chain_id, s, n))
    bundle = op.on_slot(10, POT)
    assert len(bundle.extrinsics) == 6 and bundle.receipt == genesis_receipt_of(node.chain)
    receipt = op.on_consensus_block(1, h("consensus 1"), 12_345_678, h("randomness"), [bundle])
    block = node.chain.block_of(node.chain.head())
    # Timestamp and prevRandao come from the consensus block.
    assert block.header.timestamp == 12_345 and block.header.mix_hash == h("randomness")
    assert len(block.transactions) == 6 and len(node.pool) == 0
    # The receipt describes the block.
    assert receipt.domain_block_number == 1 and receipt.domain_block_hash == block.hash
    assert receipt.domain_block_extrinsic_root == block.header.transaction_root
    assert receipt.consensus_block_number == 1 and receipt.consensus_block_hash == h("consensus 1")
    assert receipt.parent_domain_block_receipt_hash == genesis_receipt_of(node.chain).hash()
    assert receipt.inboxed_bundles == (InboxedBundle.valid(receipt.inboxed_bundles[0].digest_hash, bundle.extrinsics_root),)
    # The trace: pre-processing, one root per transaction, final; last = the block's state root.
    trace = receipt.execution_trace
    assert len(trace) == len(block.transactions) + 2 and len(set(trace[:-1])) == len(trace) - 1
    assert trace[-1] == block.header.state_root == receipt.final_state_root
    assert receipt.execution_trace_root == execution_trace_root(trace)
    # An independent re-execution on the parent gives the same trace.
    assert execution_trace(node.chain, block) == list(trace)
    # The state root after transaction 3 is proven against the receipt's trace root.
    proof = merkle_proof(list(trace), 3)
    assert verify_merkle_proof(receipt.execution_trace_root, trace[3], 3, len(trace), proof)
    assert not verify_merkle_proof(receipt.execution_trace_root, trace[2], 3, len(trace), proof)


def test_bundles_carry_the_previous_receipt_and_empty_bundles_confirm_it(node):
    op = operator(node)
    # Nothing to do at genesis: no transactions, no receipt waiting for confirmation.
    assert op.on_slot(1, POT) is None
    node.submit_raw_transaction(raw_tx(node.chain_id, 0, 0))
    b1 = op.on_slot(2, POT)
    # The transaction is in flight: the next slot does not bundle it again.
    assert op.on_slot(3, POT) is None
    r1 = op.on_consensus_block(1, h("c1"), 6_000, h("r1"), [b1])
    # Receipt 1 covers a block with a transaction: empty bundles carry it until it confirms.
    bundle = op.on_slot(7, POT)
    assert bundle.extrinsics == () and bundle.receipt == r1
    assert op.on_slot(8, POT) is None  # one in flight already carries r1
    receipts = [r1]
    number, slot = 2, 13
    while bundle is not None:
        assert bundle.receipt == receipts[-1]
        receipt = op.on_consensus_block(number, h("c", number), number * 6_000, h("r", number), [bundle])
        assert receipt.parent_domain_block_receipt_hash == receipts[-1].hash()
        assert receipt.domain_block_number == receipts[-1].domain_block_number + 1
        receipts.append(receipt)
        bundle = op.on_slot(slot, POT)
        number, slot = number + 1, slot + 6
    # The last bundle carried receipt 1 + challenge depth (its arrival confirms receipt 1).
    assert receipts[-2].domain_block_number == 1 + TEST.challenge_depth
    # A consensus block without our bundles derives nothing.
    assert op.on_consensus_block(number, h("c", number), 0, h("r"), []) is None


def test_operator_resumes_from_stored_receipts(node):
    op = operator(node)
    node.submit_raw_transaction(raw_tx(node.chain_id, 0, 0))
    receipt = op.on_consensus_block(1, h("c1"), 6_000, h("r1"), [op.on_slot(1, POT)])
    again = operator(node)
    assert again.latest_receipt == receipt and again.needs_confirmation()


@pytest.mark.parametrize("field", ["domain_block_hash", "domain_block_extrinsic_root", "parent_domain_block_receipt_hash",
                                   "final_state_root", "trace[1]", "execution_trace_root", "consensus_block_hash",
                                   "inboxed_bundles[0].extrinsics_root"])
def test_a_damaged_stored_receipt_is_named(node, field):
    """A byte flipped in a stored receipt is refused when the operator loads it, naming the
    key, instead of being carried in bundles that the consensus chain refuses."""
    op = operator(node)
    for n in range(2):
        node.submit_raw_transaction(raw_tx(node.chain_id, 0, n))
        op.on_consensus_block(n + 1, h("c", n), 6_000 * (n + 1), h("r", n), [op.on_slot(6 * n + 1, POT)])
    key = RECEIPT_KEY_PREFIX + (2).to_bytes(4, "big")
    receipt = op.latest_receipt

    def flipped(value: bytes) -> bytes:
        return value[:5] + bytes([value[5] ^ 0x01]) + value[6:]

    if field == "trace[1]":
        trace = list(receipt.execution_trace)
        damaged = dataclasses.replace(receipt, execution_trace=tuple(trace[:1] + [flipped(trace[1])] + trace[2:]))
    elif field.startswith("inboxed_bundles"):
        first = receipt.inboxed_bundles[0]
        bundles = (dataclasses.replace(first, extrinsics_root=flipped(first.extrinsics_root)),) + receipt.inboxed_bundles[1:]
        damaged = dataclasses.replace(receipt, inboxed_bundles=bundles)
    else:
        damaged = dataclasses.replace(receipt, **{field: flipped(getattr(receipt, field))})
    node.chain.store.put(key, damaged.encode())
    with pytest.raises(OperatorError, match=re.escape(f"key {key!r} in {node.chain.path} is damaged")):
        operator(node)


def test_operator_feeds_the_pallet_end_to_end(node):
    """The operator's bundles through `submit_bundle`, block after block: every bundle is
    accepted, the block tree follows the operator's receipts and confirms them."""
    op = operator(node)
    pallet = DomainsPallet(TEST)
    storage = {}

    class Storage:
        get = staticmethod(storage.get)
        set = staticmethod(storage.__setitem__)
        delete = staticmethod(lambda k: storage.pop(k, None))

    pallet.genesis(Storage, genesis_config([genesis_domain(node.chain, SIGNER.public_key, params=TEST,
                                                           tx_range_divisor=1)]))
    slot = 0
    receipts = {}
    for number in range(1, 10):
        if number <= 3:
            node.submit_raw_transaction(raw_tx(node.chain_id, number, 0))
        ctx = BlockContext(number=number, parent_hash=h("c", number - 1), slot=slot + 6, timestamp=(slot + 6) * 1000,
                           farmer_public_key=bytes(32), reward_address=bytes(32), solution_chunk=bytes(32),
                           pot_output=POT, randomness=h("r", number))
        pallet.on_initialize(Storage, ctx)
        accepted = []
        for s in range(slot + 1, slot + 7):  # the operator's bundles of the slots since the last block
            bundle = op.on_slot(s, POT)
            if bundle is not None:
                pallet.submit_bundle(Storage, ctx, bundle)
                accepted.append(bundle)
        pallet.on_finalize(Storage, ctx)
        slot += 6
        receipt = op.on_consensus_block(number, h("c", number), ctx.timestamp, ctx.randomness, accepted)
        if receipt is not None:
            receipts[receipt.domain_block_number] = receipt
    head = head_receipt_number(Storage, 0)
    # Blocks 1-3 carried transactions; empty bundles kept the domain going until the receipt
    # of domain block 3 was confirmed, then the operator went quiet.
    assert max(receipts) == 3 + TEST.challenge_depth + 1 and head == max(receipts) - 1
    assert [n for n, r in receipts.items() if any(b.is_valid for b in r.inboxed_bundles)] == sorted(receipts)
    confirmed = latest_confirmed_receipt(Storage, 0)
    assert confirmed == receipts[head - TEST.challenge_depth]
    assert node.chain.head().block_number == max(receipts)
