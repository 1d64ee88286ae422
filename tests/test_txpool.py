"""The transaction pool: admission errors, nonce ordering, queueing, replacement, bounds."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import to_canonical_address

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.evm.txpool import MAX_TX_SIZE, TxPool, TxRejected

ACCOUNTS = dev_accounts()


@pytest.fixture
def node(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    yield DomainNode(chain)
    chain.close()


def raw_tx(node, sender: int = 0, nonce: int = 0, **fields) -> bytes:
    tx = {"chainId": node.chain_id, "nonce": nonce, "to": ACCOUNTS[9][0], "value": 1, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "type": 2}
    tx.update(fields)
    return bytes(Account.sign_transaction(tx, ACCOUNTS[sender][1]).raw_transaction)


def address(i: int) -> bytes:
    return to_canonical_address(ACCOUNTS[i][0])


@pytest.mark.parametrize("fields, message", [
    ({"chainId": 1}, "invalid chain id"),
    ({"gas": 20_999}, "intrinsic gas too low"),
    ({"gas": 40_000_000}, "exceeds block gas limit"),
    ({"maxFeePerGas": 1, "maxPriorityFeePerGas": 1}, "max fee per gas less than block base fee"),
    ({"value": 10**30}, "insufficient funds for gas * price + value"),
    ({"maxPriorityFeePerGas": 10**11}, "max priority fee per gas higher than max fee per gas"),
    ({"data": b"\x01" * (MAX_TX_SIZE + 1), "gas": 29_000_000}, "oversized data"),
])
def test_rejections_carry_geth_messages(node, fields, message):
    with pytest.raises(TxRejected) as err:
        node.submit_raw_transaction(raw_tx(node, **fields))
    assert message in err.value.message and err.value.code == -32000
    assert len(node.pool) == 0


def test_nonce_too_low_after_inclusion(node):
    node.submit_raw_transaction(raw_tx(node, nonce=0))
    node.produce_block()
    with pytest.raises(TxRejected, match="nonce too low"):
        node.submit_raw_transaction(raw_tx(node, nonce=0, value=2))


def test_garbage_and_unprotected_and_bad_signatures(node):
    for garbage, words in ((b"", "empty input"), (b"\x02", "a type-2 transaction with no payload"),
                           (b"\xf8\x00", "as a legacy transaction: RlpDataLenWithZeroPrefix"),
                           (b"\x05hello", "as a type-5 transaction: unknown transaction type"),
                           (bytes(range(200)), "as a type-0 transaction: unknown transaction type"),
                           (b"\x02\xc0", "does not match sedes (12)"),
                           (b"\x85hello", "neither a legacy list nor a typed envelope")):
        with pytest.raises(TxRejected) as err:
            node.submit_raw_transaction(garbage)
        assert err.value.code == -32602 and "invalid transaction" in err.value.message
        assert words in err.value.message and "Error(" not in err.value.message, err.value.message
    legacy_no_chain = bytes(Account.sign_transaction(
        {"nonce": 0, "to": ACCOUNTS[9][0], "value": 1, "gas": 21000, "gasPrice": 10**10}, ACCOUNTS[0][1]).raw_transaction)
    with pytest.raises(TxRejected, match="replay-protected"):
        node.submit_raw_transaction(legacy_no_chain)
    # A damaged signature recovers no sender, or a stranger with no funds: never accepted.
    damaged = bytearray(raw_tx(node))
    damaged[-5] ^= 0xFF
    with pytest.raises(TxRejected) as err:
        node.submit_raw_transaction(bytes(damaged))
    assert "invalid sender" in err.value.message or "insufficient funds" in err.value.message
    assert len(node.pool) == 0


def test_consecutive_nonces_land_in_one_block_and_gaps_wait(node):
    for nonce in (2, 0, 1, 5):
        node.submit_raw_transaction(raw_tx(node, nonce=nonce))
    pending, queued = node.pool.content(node.chain.state_at(node.chain.head()).get_nonce)
    assert sorted(pending[address(0)]) == [0, 1, 2] and sorted(queued[address(0)]) == [5]
    assert node.next_nonce(address(0)) == 3
    built = node.produce_block()
    assert [tx.nonce for tx in built.block.transactions] == [0, 1, 2]
    assert len(node.pool) == 1  # nonce 5 still queued
    for nonce in (3, 4):
        node.submit_raw_transaction(raw_tx(node, nonce=nonce))
    assert [tx.nonce for tx in node.produce_block().block.transactions] == [3, 4, 5]
    assert len(node.pool) == 0


def test_block_order_by_tip_across_senders_nonce_order_within(node):
    node.submit_raw_transaction(raw_tx(node, sender=0, nonce=0, maxPriorityFeePerGas=1))
    node.submit_raw_transaction(raw_tx(node, sender=0, nonce=1, maxPriorityFeePerGas=5 * 10**9))
    node.submit_raw_transaction(raw_tx(node, sender=1, nonce=0, maxPriorityFeePerGas=2 * 10**9))
    txs = node.produce_block().block.transactions
    assert [(tx.sender, tx.nonce) for tx in txs] == [(address(1), 0), (address(0), 0), (address(0), 1)]


def test_replacement_needs_ten_percent_more_on_both_fees(node):
    first = node.submit_raw_transaction(raw_tx(node, maxFeePerGas=10**10, maxPriorityFeePerGas=10**9))
    with pytest.raises(TxRejected, match="replacement transaction underpriced"):
        node.submit_raw_transaction(raw_tx(node, value=2, maxFeePerGas=10**10 * 109 // 100, maxPriorityFeePerGas=10**9 * 2))
    with pytest.raises(TxRejected, match="replacement transaction underpriced"):
        node.submit_raw_transaction(raw_tx(node, value=2, maxFeePerGas=10**10 * 2, maxPriorityFeePerGas=10**9 * 109 // 100))
    second = node.submit_raw_transaction(raw_tx(node, value=2, maxFeePerGas=11 * 10**9, maxPriorityFeePerGas=11 * 10**8))
    assert node.pool.get(first) is None and node.pool.get(second) is not None and len(node.pool) == 1
    with pytest.raises(TxRejected, match="already known"):
        node.submit_raw_transaction(raw_tx(node, value=2, maxFeePerGas=11 * 10**9, maxPriorityFeePerGas=11 * 10**8))


def test_pool_is_bounded_and_evicts_the_cheapest(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    node = DomainNode(chain)
    node.pool = TxPool(node.pool_view, max_size=3, max_per_sender=2)
    node.submit_raw_transaction(raw_tx(node, sender=0, nonce=0, maxPriorityFeePerGas=3))
    node.submit_raw_transaction(raw_tx(node, sender=0, nonce=1, maxPriorityFeePerGas=3))
    with pytest.raises(TxRejected, match="txpool is full"):
        node.submit_raw_transaction(raw_tx(node, sender=0, nonce=2))
    node.submit_raw_transaction(raw_tx(node, sender=1, nonce=0, maxPriorityFeePerGas=2))
    with pytest.raises(TxRejected, match="txpool is full"):
        node.submit_raw_transaction(raw_tx(node, sender=2, nonce=0, maxPriorityFeePerGas=1))
    rich = node.submit_raw_transaction(raw_tx(node, sender=2, nonce=0, maxPriorityFeePerGas=10**9))
    assert len(node.pool) == 3 and node.pool.get(rich) is not None
    assert all(entry.sender != address(1) for entry in node.pool.all())
    chain.close()


def test_every_transaction_type_is_admitted_and_sealed(node):
    """Legacy (EIP-155), EIP-2930, EIP-1559 and EIP-7702 transactions all land in a block;
    the 7702 one delegates its authority's code."""
    sender = ACCOUNTS[3]
    authority = ACCOUNTS[5]
    delegate = "0x" + "42" * 20
    legacy = {"chainId": node.chain_id, "nonce": 0, "to": ACCOUNTS[9][0], "value": 1, "gas": 21000, "gasPrice": 10**10}
    access_list = {**legacy, "nonce": 1, "type": 1, "accessList": [{"address": ACCOUNTS[9][0], "storageKeys": []}],
                   "gas": 30000}
    dynamic = {"chainId": node.chain_id, "nonce": 2, "to": ACCOUNTS[9][0], "value": 1, "gas": 21000,
               "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "type": 2}
    auth = Account.sign_authorization({"chainId": node.chain_id, "address": delegate, "nonce": 0}, authority[1])
    set_code = {**dynamic, "nonce": 3, "type": 4, "gas": 100_000, "to": sender[0], "authorizationList": [auth]}
    hashes = [node.submit_raw_transaction(bytes(Account.sign_transaction(tx, sender[1]).raw_transaction))
              for tx in (legacy, access_list, dynamic, set_code)]
    built = node.produce_block()
    assert [tx.hash for tx in built.block.transactions] == hashes
    assert [tx.type_id for tx in built.block.transactions] == [None, 1, 2, 4]
    assert all(receipt.state_root == b"\x01" for receipt in built.receipts)
    code = node.chain.state_at(built.block.header).get_code(address(5))
    assert code == bytes.fromhex("ef0100" + "42" * 20)


def test_a_sender_is_recovered_once_per_transaction(monkeypatch):
    """The pool's recovery serves later decodes of the same transaction (bundle check, block
    builder, py-evm's own `tx.sender`); a transaction with another signature is recovered anew."""
    from eth.vm.forks import PragueVM

    from domains.evm import txpool

    chain_id = 4242
    address, key = dev_accounts()[5]
    fields = {"chainId": chain_id, "nonce": 7, "to": "0x" + "33" * 20, "value": 1, "gas": 21000, "gasPrice": 10**9}
    raw = bytes(Account.sign_transaction(fields, key).raw_transaction)
    decode = PragueVM.get_transaction_builder().decode
    sender = txpool.check_signature_and_chain_id(decode(raw), chain_id)
    assert sender == to_canonical_address(address)

    recoveries = []
    real = txpool.keys.Signature

    class CountingSignature(real):
        def recover_public_key_from_msg(self, message):
            recoveries.append(message)
            return super().recover_public_key_from_msg(message)

    monkeypatch.setattr(txpool.keys, "Signature", CountingSignature)
    again = decode(raw)
    assert txpool.check_signature_and_chain_id(again, chain_id) == sender and recoveries == []
    assert again.sender == sender  # py-evm's property answers without a recovery too
    other = bytes(Account.sign_transaction(dict(fields, nonce=8), key).raw_transaction)
    assert txpool.check_signature_and_chain_id(decode(other), chain_id) == sender and len(recoveries) == 1
    forged = bytearray(raw)
    forged[-5] ^= 0x01  # inside s: another signature, so another hash: recovered, not looked up
    try:
        assert txpool.check_signature_and_chain_id(decode(bytes(forged)), chain_id) != sender
    except TxRejected as exc:
        assert "bad signature" in str(exc)
    assert len(recoveries) == 2


def test_the_journal_follows_the_pool_through_a_block(tmp_path):
    """Journaled transactions are forgotten when a block uses their nonces (in one store write
    per block), and a replaced one when its replacement arrives; the rest survive a restart."""
    from chain.store import KVStore
    from domains.evm.txpool import PoolJournal

    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    store = KVStore(tmp_path / "pool", durable=False)
    node = DomainNode(chain, journal=PoolJournal(store))
    writes = []
    real_write = store.write_batch
    store.write_batch = lambda batch: (writes.append(dict(batch)), real_write(batch))[1]
    for nonce in range(3):
        node.submit_raw_transaction(raw_tx(node, 0, nonce))
    node.submit_raw_transaction(raw_tx(node, 1, 0))
    node.submit_raw_transaction(raw_tx(node, 1, 0, maxFeePerGas=2 * 10**10, maxPriorityFeePerGas=2 * 10**9))
    node.submit_raw_transaction(raw_tx(node, 2, 5))  # a nonce gap: stays queued
    assert len(PoolJournal(store).load()) == 5
    writes.clear()
    node.produce_block()
    assert len(writes) == 1 and all(v is None for v in writes[0].values()) and len(writes[0]) == 4
    assert PoolJournal(store).load() == [raw_tx(node, 2, 5)]
    chain.close()
    store.close()
