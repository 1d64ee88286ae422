"""web3.py against a running dev node: deploy Solidity and Vyper contracts, transact, read
events through eth_getLogs and filters, revert reasons, batches, WebSocket subscriptions."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.providers.persistent import WebSocketProvider

from tests.compile import COUNTER_VY, SOLC, STORAGE_SOL, solidity, vyper

pytestmark = pytest.mark.skipif(not SOLC.exists(), reason="tools/solc/bin/solc missing: run `make test`, which installs it")


@pytest.fixture(scope="module")
def w3(dev_node):
    web3 = Web3(Web3.HTTPProvider(dev_node.url, request_kwargs={"timeout": 60}))
    account = Account.from_key(dev_node.accounts[1][1])
    web3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    web3.eth.default_account = account.address
    return web3


@pytest.fixture(scope="module")
def storage(w3):
    abi, bytecode = solidity(STORAGE_SOL, "Storage")
    tx_hash = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1 and receipt.contractAddress
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)


def test_chain_basics(w3, dev_node):
    assert w3.eth.chain_id == dev_node.chain_id
    assert w3.net.version == str(dev_node.chain_id)
    assert w3.eth.get_balance(dev_node.accounts[0][0]) > 0
    assert w3.eth.get_block("latest")["baseFeePerGas"] is not None


def test_deploy_solidity_transact_and_read_events(w3, storage):
    start = w3.eth.block_number
    tx_hash = storage.functions.set(42, "hello").transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    assert storage.functions.value().call() == 42
    (event,) = storage.events.ValueChanged().process_receipt(receipt)
    assert event.args.newValue == 42 and event.args.note == "hello" and event.args.who == w3.eth.default_account
    # eth_getLogs by address and indexed topic
    logs = storage.events.ValueChanged().get_logs(from_block=start, argument_filters={"newValue": 42})
    assert [log.transactionHash for log in logs] == [tx_hash]
    assert storage.events.ValueChanged().get_logs(from_block=start, argument_filters={"newValue": 43}) in ((), [])


def test_filters_see_new_events_and_blocks(w3, storage):
    log_filter = storage.events.ValueChanged.create_filter(from_block="latest")
    block_filter = w3.eth.filter("latest")
    hashes = [storage.functions.set(v, f"n{v}").transact() for v in (7, 8)]
    for h in hashes:
        w3.eth.wait_for_transaction_receipt(h, timeout=30)
    changes = log_filter.get_new_entries()
    assert [e.args.newValue for e in changes] == [7, 8]
    assert log_filter.get_new_entries() == []
    assert len(block_filter.get_new_entries()) >= 1
    assert [e.args.newValue for e in log_filter.get_all_entries()] == [7, 8]
    assert w3.eth.uninstall_filter(log_filter.filter_id) is True


def test_revert_reasons(w3, storage):
    with pytest.raises(ContractLogicError, match="storage: always fails"):
        storage.functions.fail().call()
    with pytest.raises(ContractLogicError, match="storage: always fails"):
        storage.functions.fail().estimate_gas()
    with pytest.raises(ContractCustomError) as err:
        storage.functions.set(5000, "x").call()
    selector = Web3.keccak(text="TooBig(uint256,uint256)")[:4].hex()
    assert selector in str(err.value.data)
    with pytest.raises(ContractPanicError, match="0x12: Division by zero"):
        storage.functions.divide(1, 0).call()


def test_vyper_contract(w3):
    abi, bytecode = vyper(COUNTER_VY)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact(), timeout=30)
    counter = w3.eth.contract(address=receipt.contractAddress, abi=abi)
    assert counter.functions.owner().call() == w3.eth.default_account
    receipt = w3.eth.wait_for_transaction_receipt(counter.functions.bump(3).transact(), timeout=30)
    assert counter.functions.count().call() == 3
    assert counter.events.Bumped().process_receipt(receipt)[0].args.count == 3
    with pytest.raises(ContractLogicError, match="counter: step must be positive"):
        counter.functions.bump(0).call()


def test_batch_requests(w3, dev_node):
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block(0))
        batch.add(w3.eth.get_balance(dev_node.accounts[0][0]))
        batch.add(w3.eth.get_transaction_count(dev_node.accounts[0][0]))
        block, balance, nonce = batch.execute()
    assert block["number"] == 0 and balance > 0 and nonce >= 0


def test_historical_state_by_block_number(w3, storage):
    before = w3.eth.block_number
    old_value = storage.functions.value().call(block_identifier=before)
    receipt = w3.eth.wait_for_transaction_receipt(storage.functions.set(old_value + 1 if old_value < 1000 else 1, "h").transact(), timeout=30)
    assert storage.functions.value().call(block_identifier=before) == old_value
    assert storage.functions.value().call(block_identifier=receipt.blockNumber) != old_value


def test_websocket_subscriptions(dev_node, w3, storage):
    async def run():
        async with AsyncWeb3(WebSocketProvider(dev_node.ws_url)) as aw3:
            heads = await aw3.eth.subscribe("newHeads")
            logs = await aw3.eth.subscribe("logs", {"address": storage.address})
            tx_hash = await asyncio.to_thread(storage.functions.set(9, "ws").transact)
            seen = {"head": None, "log": None}
            async for message in aw3.socket.process_subscriptions():
                if message["subscription"] == heads and seen["head"] is None:
                    seen["head"] = message["result"]
                elif message["subscription"] == logs:
                    seen["log"] = message["result"]
                if seen["log"] is not None and seen["head"] is not None:
                    break
            assert await aw3.eth.unsubscribe(heads) is True
            return tx_hash, seen
    tx_hash, seen = asyncio.run(asyncio.wait_for(run(), timeout=60))
    assert seen["log"]["transactionHash"] == tx_hash
    assert seen["head"]["number"] >= 1 and "baseFeePerGas" in seen["head"]
