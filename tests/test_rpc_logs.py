"""eth_getLogs and polling filters on a real dev domain: address and topic matching (wildcards,
OR-lists), block hashes and ranges with their errors and limits, the header-bloom skip, and
filters (log, block, pending-transaction) including uninstall and expiry on an injected clock.

Two logger contracts in the genesis allocation emit LOG3 with the three calldata words as
topics; blocks 1-3 carry known topic combinations.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_canonical_address, to_checksum_address

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.rpc.server import build_app
from domains.rpc.testing import LiveServer
from tests.test_rpc_gateway import LOGGER_CODE, Rpc

ACCOUNTS = dev_accounts()
CHAIN_ID = 8_701_337
LOGGER = "0x" + "10" * 20
OTHER_LOGGER = "0x" + "11" * 20
A, B, C, D = (keccak(name.encode()) for name in "ABCD")
HEX = {t: "0x" + t.hex() for t in (A, B, C, D)}


class FakeClock:
    """Filter expiry time, advanced by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Chain:
    """The module's domain, node, clock and two gateways (default limits, and tight ones)."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="rpc-logs-"))
        code = {"balance": 0, "nonce": 1, "code": LOGGER_CODE, "storage": {}}
        genesis = dev_genesis(timestamp=1_700_000_000, extra_alloc={
            to_canonical_address(LOGGER): dict(code), to_canonical_address(OTHER_LOGGER): dict(code)})
        self.chain = DomainChain.create(self.tmp / "domain", genesis)
        self.node = DomainNode(self.chain)
        self.clock = FakeClock()
        self.server = LiveServer(build_app(self.node, filter_timeout=60, clock=self.clock)).start()
        self.tight = LiveServer(build_app(self.node, logs_block_range_limit=2, logs_result_limit=3)).start()
        self.rpc = Rpc(self.server.url)
        self.tight_rpc = Rpc(self.tight.url)
        self.nonces: dict[str, int] = {}

    def emit(self, contract: str, *topics: bytes, sender: int = 0) -> str:
        """Queue a LOG3 call; returns its hash."""
        address, key = ACCOUNTS[sender]
        nonce = self.nonces.get(address, 0)
        self.nonces[address] = nonce + 1
        raw = Account.sign_transaction({
            "chainId": CHAIN_ID, "nonce": nonce, "to": to_checksum_address(contract), "gas": 60_000,
            "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "data": b"".join(topics)}, key).raw_transaction
        return self.rpc.result("eth_sendRawTransaction", "0x" + raw.hex())

    def close(self) -> None:
        self.server.stop()
        self.tight.stop()
        self.chain.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def logs_chain():
    env = Chain()
    env.emit(LOGGER, A, B, C)           # block 1, log 0
    env.emit(OTHER_LOGGER, A, C, C)     # block 1, log 1
    env.node.produce_block()
    env.emit(LOGGER, B, B, B)           # block 2
    env.node.produce_block()
    env.emit(LOGGER, C, A, B)           # block 3
    env.node.produce_block()
    yield env
    env.close()


def topics_of(logs) -> list[tuple[str, ...]]:
    return [tuple(log["topics"]) for log in logs]


def get_logs(env: Chain, **flt):
    return env.rpc.result("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x3", **flt})


def test_topic_matching(logs_chain):
    env = logs_chain
    every = get_logs(env)
    assert topics_of(every) == [(HEX[A], HEX[B], HEX[C]), (HEX[A], HEX[C], HEX[C]), (HEX[B],) * 3, (HEX[C], HEX[A], HEX[B])]
    assert [log["logIndex"] for log in every] == ["0x0", "0x1", "0x0", "0x0"]
    assert [log["blockNumber"] for log in every] == ["0x1", "0x1", "0x2", "0x3"]
    assert topics_of(get_logs(env, topics=[HEX[A]])) == [(HEX[A], HEX[B], HEX[C]), (HEX[A], HEX[C], HEX[C])]
    # null and [] are wildcards; a null inside an OR-list too
    assert topics_of(get_logs(env, topics=[None, HEX[A]])) == [(HEX[C], HEX[A], HEX[B])]
    assert topics_of(get_logs(env, topics=[[], HEX[A]])) == [(HEX[C], HEX[A], HEX[B])]
    assert len(get_logs(env, topics=[[HEX[D], None]])) == 4
    # OR within a position, AND across positions
    assert topics_of(get_logs(env, topics=[[HEX[A], HEX[B]], None, HEX[C]])) == [
        (HEX[A], HEX[B], HEX[C]), (HEX[A], HEX[C], HEX[C])]
    assert get_logs(env, topics=[[HEX[A], HEX[B]], HEX[D]]) == []
    # more positions than the logs have topics: no match
    assert get_logs(env, topics=[None, None, None, None]) == []
    error = env.rpc.error("eth_getLogs", {"topics": [None] * 5})
    assert error["code"] == -32602 and "exceed max topics" in error["message"]


def test_address_matching(logs_chain):
    env = logs_chain
    assert topics_of(get_logs(env, address=OTHER_LOGGER)) == [(HEX[A], HEX[C], HEX[C])]
    assert len(get_logs(env, address=[LOGGER, OTHER_LOGGER])) == 4
    assert len(get_logs(env, address=to_checksum_address(LOGGER))) == 3
    assert get_logs(env, address="0x" + "99" * 20) == []
    assert topics_of(get_logs(env, address=[OTHER_LOGGER], topics=[None, HEX[C]])) == [(HEX[A], HEX[C], HEX[C])]


def test_block_hash_and_range_errors(logs_chain):
    env = logs_chain
    block2 = env.rpc.result("eth_getBlockByNumber", "0x2", False)["hash"]
    assert topics_of(env.rpc.result("eth_getLogs", {"blockHash": block2})) == [(HEX[B],) * 3]
    error = env.rpc.error("eth_getLogs", {"blockHash": block2, "fromBlock": "0x1"})
    assert error["code"] == -32602 and "cannot specify both BlockHash and FromBlock/ToBlock" in error["message"]
    assert env.rpc.error("eth_getLogs", {"blockHash": "0x" + "ee" * 32}) == {"code": -32000, "message": "unknown block"}
    assert env.rpc.error("eth_getLogs", {"fromBlock": "0x3", "toBlock": "0x1"}) == {
        "code": -32602, "message": "invalid block range params"}
    head = int(env.rpc.result("eth_blockNumber"), 16)
    assert env.rpc.error("eth_getLogs", {"fromBlock": "0x1", "toBlock": hex(head + 5)}) == {
        "code": -32602, "message": "block range extends beyond current head block"}
    assert env.rpc.result("eth_getLogs", {"fromBlock": "earliest", "toBlock": "0x0"}) == []


def test_block_range_limit(logs_chain):
    env = logs_chain
    error = env.tight_rpc.error("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x3"})
    assert error == {"code": -32005, "message": "query exceeds max block range 2"}
    assert len(env.tight_rpc.result("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x3"})) == 2
    flt = env.tight_rpc.result("eth_newFilter", {"fromBlock": "0x1", "toBlock": "0x3"})
    assert env.tight_rpc.error("eth_getFilterLogs", flt)["code"] == -32005


def test_result_limit(logs_chain):
    env = logs_chain
    assert len(env.tight_rpc.result("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x2"})) == 3  # at the limit
    for sender in range(4):
        env.emit(LOGGER, D, D, D, sender=sender)
    block = env.node.produce_block().block
    assert len(env.rpc.result("eth_getLogs", {"blockHash": "0x" + block.hash.hex()})) == 4
    too_many = {"code": -32005, "message": "query returned more than 3 results"}
    assert env.tight_rpc.error("eth_getLogs", {"blockHash": "0x" + block.hash.hex()}) == too_many
    assert env.tight_rpc.error("eth_getLogs", {"fromBlock": hex(block.number), "toBlock": hex(block.number)}) == too_many


def test_bloom_skips_blocks_without_reading_receipts(logs_chain, monkeypatch):
    env = logs_chain
    reads = []
    original = DomainChain.receipts_of
    monkeypatch.setattr(DomainChain, "receipts_of", lambda self, header: reads.append(header.block_number) or original(self, header))
    assert get_logs(env, address="0x" + "99" * 20) == []
    assert reads == []
    assert len(get_logs(env, topics=[HEX[C]])) == 1
    assert reads == [1, 3]  # blooms ignore positions: block 1 holds C too, block 2 is skipped


def test_log_filter_changes_and_logs(logs_chain):
    env = logs_chain
    flt = env.rpc.result("eth_newFilter", {"address": LOGGER, "topics": [HEX[D]]})
    every = env.rpc.result("eth_newFilter", {"fromBlock": "0x1", "toBlock": "0x3", "topics": [HEX[A]]})
    assert env.rpc.result("eth_getFilterChanges", flt) == []
    hashes = [env.emit(LOGGER, D, A, A), env.emit(OTHER_LOGGER, D, A, A), env.emit(LOGGER, C, C, C)]
    env.node.produce_block()
    env.emit(LOGGER, D, B, B)
    env.node.produce_block()
    changes = env.rpc.result("eth_getFilterChanges", flt)
    assert [log["transactionHash"] for log in changes][0] == hashes[0]
    assert topics_of(changes) == [(HEX[D], HEX[A], HEX[A]), (HEX[D], HEX[B], HEX[B])]
    assert env.rpc.result("eth_getFilterChanges", flt) == []
    assert env.rpc.result("eth_getFilterLogs", flt) == changes  # "from now on" covers the same blocks
    # a bounded filter: changes never reach outside its range, logs are the whole range
    assert env.rpc.result("eth_getFilterChanges", every) == []
    assert len(env.rpc.result("eth_getFilterLogs", every)) == 2
    assert env.rpc.result("eth_uninstallFilter", flt) is True
    assert env.rpc.result("eth_uninstallFilter", flt) is False
    assert env.rpc.error("eth_getFilterChanges", flt) == {"code": -32000, "message": "filter not found"}


def test_block_and_pending_transaction_filters(logs_chain):
    env = logs_chain
    blocks = env.rpc.result("eth_newBlockFilter")
    pending = env.rpc.result("eth_newPendingTransactionFilter")
    assert env.rpc.result("eth_getFilterChanges", blocks) == []
    sent = [env.emit(LOGGER, A, A, A), env.emit(LOGGER, B, A, A, sender=1)]
    assert env.rpc.result("eth_getFilterChanges", pending) == sent
    assert env.rpc.result("eth_getFilterChanges", pending) == []
    first = env.node.produce_block().block
    second = env.node.produce_block().block
    assert env.rpc.result("eth_getFilterChanges", blocks) == ["0x" + first.hash.hex(), "0x" + second.hash.hex()]
    assert env.rpc.result("eth_getFilterChanges", blocks) == []
    error = env.rpc.error("eth_getFilterLogs", blocks)
    assert error == {"code": -32000, "message": "filter not found"}


def test_filters_expire_unless_polled(logs_chain):
    env = logs_chain
    kept = env.rpc.result("eth_newBlockFilter")
    dropped = env.rpc.result("eth_newPendingTransactionFilter")
    env.clock.now += 50
    assert env.rpc.result("eth_getFilterChanges", kept) == []
    env.clock.now += 50  # kept was polled 50 s ago, dropped 100 s ago (timeout 60 s)
    assert env.rpc.result("eth_getFilterChanges", kept) == []
    assert env.rpc.error("eth_getFilterChanges", dropped) == {"code": -32000, "message": "filter not found"}
    env.clock.now += 61
    assert env.rpc.error("eth_getFilterChanges", kept)["message"] == "filter not found"
    assert env.rpc.result("eth_uninstallFilter", kept) is False
    error = env.rpc.error("eth_getFilterChanges", "0xzz")
    assert error["code"] == -32602 and "filterId" in error["message"]
