"""Domain blocks follow consensus reorgs: `DomainChain.rewind_to` (canonical index, head,
transaction lookups, restart), `DomainNode.rewind_to` (the pool), and the operator's
`on_consensus_reorg` / `reconcile_with_consensus` / catch-up numbers (spec/domains.md §2.4-§2.7)."""

from __future__ import annotations

import hashlib

import pytest
from eth_account import Account
from eth_utils import to_canonical_address

from chain.keys import Ed25519Signer
from domains.evm.chain import DomainChain, InvalidRewind
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.operator import RECEIPT_KEY_PREFIX, Operator, OperatorError
from domains.runtime import TEST, DomainConfig

ACCOUNTS = dev_accounts()
SIGNER = Ed25519Signer.dev("operator")
POT = bytes(range(16))


def h(*parts) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


def addr(i: int) -> bytes:
    return to_canonical_address(ACCOUNTS[i][0])


def raw_tx(chain_id: int, sender: int, nonce: int, to: int = 9, value: int = 1) -> bytes:
    tx = {"chainId": chain_id, "nonce": nonce, "to": ACCOUNTS[to][0], "value": value, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "type": 2}
    return bytes(Account.sign_transaction(tx, ACCOUNTS[sender][1]).raw_transaction)


def tx_of(chain: DomainChain, raw: bytes):
    return chain.pending_vm().get_transaction_builder().decode(raw)


def build_five(chain: DomainChain):
    """Domain blocks 1..5, each with two transfers from account 0 (to account 9)."""
    blocks = []
    for number in range(1, 6):
        txs = [tx_of(chain, raw_tx(chain.chain_id, 0, 2 * (number - 1) + i)) for i in range(2)]
        built = chain.build_block(txs, timestamp=1_000 + number)
        assert len(built.block.transactions) == 2
        blocks.append(built.block)
    return blocks


# ---------------------------------------------------------------------------------------------
# DomainChain.rewind_to


def test_rewind_makes_an_ancestor_the_head_and_survives_restart(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    blocks = build_five(chain)
    state_at_3 = chain.state_at(blocks[2].header)
    balance_at_3 = state_at_3.get_balance(addr(9))

    rewind = chain.rewind_to(blocks[2].hash)
    assert [b.hash for b in rewind.abandoned] == [blocks[3].hash, blocks[4].hash]
    head = chain.head()
    assert head.hash == blocks[2].hash and head.block_number == 3
    state = chain.state_at(head)
    assert state.get_nonce(addr(0)) == 6 and state.get_balance(addr(9)) == balance_at_3
    assert chain.pending_vm().state.get_nonce(addr(0)) == 6
    # Numbers 4 and 5 are no longer canonical; their transactions no longer resolve.
    assert chain.header_by_number(4) is None and chain.header_by_number(5) is None
    for block in blocks[3:]:
        assert chain.header_by_hash(block.hash) is not None  # still stored, by hash
        assert not chain.is_canonical(block.header)
        for tx in block.transactions:
            assert chain.transaction_location(tx.hash) is None
    for block in blocks[:3]:
        assert chain.is_canonical(block.header)
        assert chain.transaction_location(block.transactions[1].hash) == (block.number, 1)

    # A different block 4' builds on 3.
    other = [tx_of(chain, raw_tx(chain.chain_id, 1, 0, to=8, value=7))]
    built = chain.build_block(other, timestamp=2_000)
    assert built.block.number == 4 and built.block.header.parent_hash == blocks[2].hash
    assert built.block.hash != blocks[3].hash
    assert chain.head().hash == built.block.hash
    assert chain.transaction_location(other[0].hash) == (4, 0)
    assert chain.transaction_location(blocks[3].transactions[0].hash) is None
    assert chain.state_at(chain.head()).get_nonce(addr(0)) == 6
    chain.close()

    # Restart: the head is 4', and the chain grows on it.
    chain = DomainChain.open(tmp_path / "d")
    assert chain.head().hash == built.block.hash
    assert chain.header_by_number(5) is None
    assert chain.transaction_location(other[0].hash) == (4, 0)
    assert chain.transaction_location(blocks[4].transactions[0].hash) is None
    nxt = chain.build_block([tx_of(chain, raw_tx(chain.chain_id, 0, 6))], timestamp=2_001)
    assert nxt.block.number == 5 and chain.head().hash == nxt.block.hash
    assert chain.transaction_location(nxt.block.transactions[0].hash) == (5, 0)
    chain.close()


def test_rebuilding_an_abandoned_block_makes_it_canonical_again(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    blocks = build_five(chain)
    chain.rewind_to(blocks[1].hash)
    again = chain.build_block(list(blocks[2].transactions), timestamp=blocks[2].header.timestamp)
    assert again.block.hash == blocks[2].hash
    assert chain.head().hash == blocks[2].hash and chain.header_by_number(4) is None
    assert chain.transaction_location(blocks[2].transactions[1].hash) == (3, 1)
    chain.close()


def test_rewind_to_unknown_or_non_ancestor_changes_nothing(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    blocks = build_five(chain)
    chain.rewind_to(blocks[2].hash)
    side = chain.build_block([tx_of(chain, raw_tx(chain.chain_id, 1, 0))], timestamp=3_000).block
    before = dict(chain.store.iterate())
    with pytest.raises(InvalidRewind, match="unknown block"):
        chain.rewind_to(h("no such block"))
    with pytest.raises(InvalidRewind, match="not an ancestor"):
        chain.rewind_to(blocks[3].hash)  # abandoned: on another branch
    assert dict(chain.store.iterate()) == before
    assert chain.head().hash == side.hash
    # Rewinding to the head itself abandons nothing.
    assert chain.rewind_to(side.hash).abandoned == ()
    assert chain.head().hash == side.hash
    chain.close()


def test_node_rewind_puts_abandoned_transactions_back_in_the_pool(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    node = DomainNode(chain)
    for number in range(1, 4):
        node.submit_raw_transaction(raw_tx(chain.chain_id, number, 0))
        node.produce_block(1_000 + number)
    assert len(node.pool) == 0
    block2, block3 = chain.block_of(chain.header_by_number(2)), chain.block_of(chain.header_by_number(3))
    seen = []
    node.on_rewind(seen.append)
    rewind, readmitted = node.rewind_to(chain.header_by_number(1).hash)
    assert rewind.head.block_number == 1 and seen == [rewind]
    assert readmitted == [block2.transactions[0].hash, block3.transactions[0].hash]
    assert node.next_nonce(addr(2)) == 1
    # The pool's view is the new head's: the next block carries them again.
    rebuilt = node.produce_block(2_000).block
    assert rebuilt.number == 2 and {tx.hash for tx in rebuilt.transactions} == set(readmitted)
    assert len(node.pool) == 0
    chain.close()


# ---------------------------------------------------------------------------------------------
# The operator


def config_for(node) -> DomainConfig:
    return DomainConfig.with_default_limits(TEST, domain_id=0, domain_name="auto-evm", chain_id=node.chain_id,
                                            tx_range_divisor=1)


def new_operator(node) -> Operator:
    return Operator(node, SIGNER, 0, 0, config=config_for(node), params=TEST)


def feed(op: Operator, number: int, tag: str, bundles):
    return op.on_consensus_block(number, h("c", tag, number), number * 6_000, h("r", tag, number), bundles)


def bundle_with(op: Operator, node: DomainNode, slot: int, raws):
    for raw in raws:
        node.submit_raw_transaction(raw)
    bundle = op.on_slot(slot, POT)
    assert bundle is not None and len(bundle.extrinsics) >= len(raws)
    return bundle


@pytest.fixture
def domain(tmp_path):
    chain = DomainChain.create(tmp_path / "domain", dev_genesis())
    node = DomainNode(chain)
    yield tmp_path / "domain", node
    node.chain.close()


def test_operator_follows_a_consensus_reorg(domain, tmp_path):
    path, node = domain
    op = new_operator(node)
    cid = node.chain_id
    bundles = {}
    receipts = {}
    for number in range(1, 5):
        bundles[number] = bundle_with(op, node, number * 6, [raw_tx(cid, number, 0)])
        receipts[number] = feed(op, number, "a", [bundles[number]])
        assert receipts[number].domain_block_number == number
    assert op.last_consensus_number == 4
    # A block of a new branch cannot come without the reorg.
    with pytest.raises(OperatorError, match="on_consensus_reorg"):
        feed(op, 3, "b", [])

    # Reorg: consensus 3 and 4 are abandoned, the common ancestor is 2.
    abandoned = op.on_consensus_reorg(2)
    assert abandoned == [receipts[3], receipts[4]]
    assert node.chain.head().hash == receipts[2].domain_block_hash
    assert op.latest_receipt == receipts[2] and op.last_consensus_number == 2
    assert op.receipt(3) is None and node.chain.store.get(RECEIPT_KEY_PREFIX + (3).to_bytes(4, "big")) is None
    # The abandoned transactions are back in the pool (senders 3 and 4).
    assert node.next_nonce(addr(3)) == 1 and node.next_nonce(addr(4)) == 1

    # The new branch 3', 4', 5' with other bundles.
    new_bundles = {3: bundle_with(op, node, 100, [raw_tx(cid, 6, 0)])}
    assert new_bundles[3].receipt == receipts[2]
    new_bundles[4] = bundle_with(op, node, 106, [raw_tx(cid, 7, 0)])
    new_bundles[5] = bundle_with(op, node, 112, [raw_tx(cid, 8, 0)])
    new_receipts = {n: feed(op, n, "b", [new_bundles[n]]) for n in (3, 4, 5)}
    for n, receipt in new_receipts.items():
        assert receipt.domain_block_number == n
        assert receipt.consensus_block_number == n and receipt.consensus_block_hash == h("c", "b", n)
        if n in receipts:
            assert receipt.domain_block_hash != receipts[n].domain_block_hash
    assert new_receipts[3].parent_domain_block_receipt_hash == receipts[2].hash()
    # 3' carried sender 6's transaction and the re-bundled ones of senders 3 and 4.
    block3 = node.chain.block_of(node.chain.header_by_number(3))
    assert len(block3.transactions) == 3

    # A fresh operator fed only the canonical branch (1, 2, 3', 4', 5') ends at the same roots.
    fresh_chain = DomainChain.create(tmp_path / "fresh", dev_genesis())
    fresh = new_operator(DomainNode(fresh_chain))
    for n in (1, 2):
        feed(fresh, n, "a", [bundles[n]])
    for n in (3, 4, 5):
        fresh_receipt = feed(fresh, n, "b", [new_bundles[n]])
        assert fresh_receipt.final_state_root == new_receipts[n].final_state_root
        assert fresh_receipt.domain_block_hash == new_receipts[n].domain_block_hash
        assert fresh_receipt == new_receipts[n]
    fresh_chain.close()

    # Restart: the stored receipts are the canonical ones.
    node.chain.close()
    chain = DomainChain.open(path)
    node2 = DomainNode(chain)
    again = new_operator(node2)
    assert again.latest_receipt == new_receipts[5]
    assert [again.receipt(n) for n in (3, 4)] == [new_receipts[3], new_receipts[4]]
    assert again.last_consensus_number == 5
    assert list(again.pending_consensus_numbers(7)) == [6, 7]
    node.chain = chain  # the fixture closes this one


def test_reorg_below_the_last_receipt_without_bundles_keeps_the_domain(domain):
    _, node = domain
    op = new_operator(node)
    r1 = feed(op, 1, "a", [bundle_with(op, node, 6, [raw_tx(node.chain_id, 1, 0)])])
    assert feed(op, 2, "a", []) is None and feed(op, 3, "a", []) is None
    assert op.on_consensus_reorg(1) == []
    assert node.chain.head().hash == r1.domain_block_hash and op.last_consensus_number == 1
    # An ancestor at or above the last block processed abandons nothing of ours.
    assert op.on_consensus_reorg(5) == [] and op.last_consensus_number == 1
    assert feed(op, 2, "b", []) is None


def test_crash_after_the_rewind_resumes_from_the_kept_receipt(domain):
    path, node = domain
    op = new_operator(node)
    receipts = [feed(op, n, "a", [bundle_with(op, node, 6 * n, [raw_tx(node.chain_id, n, 0)])]) for n in (1, 2, 3)]
    op.on_consensus_reorg(1)
    # "Crash" before any block of the new branch: a restart sees receipt 1 and resumes after it.
    node.chain.close()
    node.chain = DomainChain.open(path)
    again = new_operator(DomainNode(node.chain))
    assert again.latest_receipt == receipts[0] and again.last_consensus_number == 1
    assert list(again.pending_consensus_numbers(3)) == [2, 3]


def test_reconcile_with_consensus_after_a_reorg_while_down(domain):
    path, node = domain
    op = new_operator(node)
    receipts = {n: feed(op, n, "a", [bundle_with(op, node, 6 * n, [raw_tx(node.chain_id, n, 0)])])
                for n in (1, 2, 3, 4)}
    canonical = {n: h("c", "a", n) for n in range(0, 5)}
    assert op.reconcile_with_consensus(canonical.get) == 4  # nothing changed
    # While the node was down, the consensus chain moved to a branch leaving after block 2.
    node.chain.close()
    node.chain = DomainChain.open(path)
    restarted = new_operator(DomainNode(node.chain))
    canonical.update({3: h("c", "b", 3), 4: h("c", "b", 4), 5: h("c", "b", 5)})
    assert restarted.reconcile_with_consensus(canonical.get) == 2
    assert restarted.latest_receipt == receipts[2]
    assert node.chain.head().hash == receipts[2].domain_block_hash
    assert list(restarted.pending_consensus_numbers(5)) == [3, 4, 5]
    # Every receipt lost: back to genesis.
    assert restarted.reconcile_with_consensus(lambda n: None) == 0
    assert node.chain.head().block_number == 0 and restarted.latest_receipt.domain_block_number == 0
