"""The gateway over WebSocket: the same methods as HTTP on `/` and `/ws`, and eth_subscribe for
`newHeads`, `logs` (with address and topic filters) and `newPendingTransactions` (hashes, or
whole transactions), unsubscribing, and subscriptions ending with their connection.

Blocks are produced by the test (`produce_block()`), so every notification is caused by a
known event. Ordering facts used to check absence without timing: a notification caused
before a request is queued on the connection before that request's response.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_canonical_address, to_checksum_address
from websockets.sync.client import connect

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.rpc.server import build_app
from domains.rpc.testing import LiveServer
from tests.rpc_schema import validate_result
from tests.test_rpc_gateway import LOGGER_CODE, Rpc

ACCOUNTS = dev_accounts()
CHAIN_ID = 8_701_337
LOGGER = "0x" + "10" * 20
A, B = keccak(b"A"), keccak(b"B")


class Client:
    """A JSON-RPC client on one WebSocket connection that sets notifications aside."""

    def __init__(self, url: str) -> None:
        self.ws = connect(url, open_timeout=30, max_size=2**24)
        self.next_id = 0
        self.notifications: list[dict] = []

    def send(self, payload) -> None:
        self.ws.send(json.dumps(payload))

    def receive(self) -> dict | list:
        return json.loads(self.ws.recv(timeout=30))

    def call(self, method: str, *params) -> dict:
        """The response to one request; notifications arriving first are kept in order."""
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)})
        while True:
            message = self.receive()
            if isinstance(message, dict) and message.get("method") == "eth_subscription":
                self.notifications.append(message["params"])
                continue
            assert message["id"] == self.next_id
            return message

    def result(self, method: str, *params):
        answer = self.call(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    def notification(self) -> dict:
        """The next notification (already received, or waited for)."""
        if self.notifications:
            return self.notifications.pop(0)
        message = self.receive()
        assert message.get("method") == "eth_subscription", message
        return message["params"]

    def drain(self) -> list[dict]:
        """Everything notified so far: a round trip flushes what was queued before it."""
        self.result("eth_chainId")
        drained, self.notifications = self.notifications, []
        return drained

    def close(self) -> None:
        self.ws.close()


class Env:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="rpc-ws-"))
        genesis = dev_genesis(timestamp=1_700_000_000, extra_alloc={
            to_canonical_address(LOGGER): {"balance": 0, "nonce": 1, "code": LOGGER_CODE, "storage": {}}})
        self.chain = DomainChain.create(self.tmp / "domain", genesis)
        self.node = DomainNode(self.chain)
        self.app = build_app(self.node, max_body_bytes=32 * 1024)
        self.server = LiveServer(self.app).start()
        self.nonce = 0

    def transaction(self, data: bytes = b"", to: str = LOGGER) -> tuple[str, bytes]:
        """A signed call from account 0 (hash, raw), with the next nonce."""
        signed = Account.sign_transaction({
            "chainId": CHAIN_ID, "nonce": self.nonce, "to": to_checksum_address(to), "gas": 60_000,
            "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "data": data}, ACCOUNTS[0][1])
        self.nonce += 1
        return "0x" + signed.hash.hex(), bytes(signed.raw_transaction)

    def submit(self, data: bytes = b"", to: str = LOGGER) -> str:
        tx_hash, raw = self.transaction(data, to)
        self.node.submit_raw_transaction(raw)
        return tx_hash


@pytest.fixture(scope="module")
def env():
    env = Env()
    yield env
    env.server.stop()
    env.chain.close()
    shutil.rmtree(env.tmp, ignore_errors=True)


@pytest.fixture()
def client(env):
    client = Client(env.server.ws_url)
    yield client
    client.close()


def test_methods_over_websocket_on_both_paths(env):
    for url in (env.server.ws_url, env.server.ws_url + "/ws"):
        client = Client(url)
        assert client.result("eth_chainId") == hex(CHAIN_ID)
        client.send([{"jsonrpc": "2.0", "id": 1, "method": "net_version"},
                     {"jsonrpc": "2.0", "method": "eth_chainId"},
                     {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber"}])
        batch = client.receive()
        assert [answer["id"] for answer in batch] == [1, 2] and batch[0]["result"] == str(CHAIN_ID)
        client.ws.send("{oops")
        assert client.receive()["error"]["code"] == -32700
        client.send({"jsonrpc": "2.0", "id": 3, "method": "web3_sha3", "params": ["0x" + "00" * 20_000]})
        assert client.receive()["error"]["code"] == -32600  # over the 32 KiB message limit
        assert client.call("eth_noSuchMethod")["error"]["code"] == -32601
        client.close()


def test_new_heads(env, client):
    sub = client.result("eth_subscribe", "newHeads")
    built = env.node.produce_block()
    head = client.notification()
    assert head["subscription"] == sub
    header = head["result"]
    assert header["hash"] == "0x" + built.block.hash.hex() and header["number"] == hex(built.block.number)
    assert "baseFeePerGas" in header and "transactions" not in header
    block = client.result("eth_getBlockByNumber", header["number"], False)
    assert {k: v for k, v in block.items() if k in header} == header
    assert client.result("eth_unsubscribe", sub) is True
    assert client.result("eth_unsubscribe", sub) is False
    env.node.produce_block()
    assert client.drain() == []


def test_logs_with_address_and_topic_filters(env, client):
    every = client.result("eth_subscribe", "logs")
    only_b = client.result("eth_subscribe", "logs", {"address": [LOGGER], "topics": [None, "0x" + B.hex()]})
    elsewhere = client.result("eth_subscribe", "logs", {"address": "0x" + "99" * 20})
    first = env.submit(A + A + A)
    second = env.submit(A + B + A)
    env.node.produce_block()
    seen = client.drain()
    by_sub = {sub: [n["result"] for n in seen if n["subscription"] == sub] for sub in (every, only_b, elsewhere)}
    assert [log["transactionHash"] for log in by_sub[every]] == [first, second]
    assert [log["transactionHash"] for log in by_sub[only_b]] == [second]
    assert by_sub[elsewhere] == []
    log = by_sub[only_b][0]
    validate_result("eth_getLogs", [log])
    receipt = client.result("eth_getTransactionReceipt", second)
    assert receipt["logs"] == [log]
    error = client.call("eth_subscribe", "logs", {"topics": "nope"})["error"]
    assert error["code"] == -32602 and "topics" in error["message"]
    for sub in (every, only_b, elsewhere):
        assert client.result("eth_unsubscribe", sub) is True


def test_pending_transactions_as_hashes_and_objects(env, client):
    hashes = client.result("eth_subscribe", "newPendingTransactions")
    full = client.result("eth_subscribe", "newPendingTransactions", True)
    tx_hash = env.submit(A + A + A)
    seen = client.drain()
    assert [n["result"] for n in seen if n["subscription"] == hashes] == [tx_hash]
    (obj,) = [n["result"] for n in seen if n["subscription"] == full]
    assert obj["hash"] == tx_hash and obj["blockHash"] is None and obj["from"] == ACCOUNTS[0][0].lower()
    # a transaction sent over the same connection is announced too
    next_hash, raw = env.transaction(B + B + B)
    assert client.result("eth_sendRawTransaction", "0x" + raw.hex()) == next_hash
    assert next_hash in [n["result"] for n in client.drain() if n["subscription"] == hashes]
    env.node.produce_block()


def test_subscription_errors(env, client):
    error = client.call("eth_subscribe", "syncingForever")["error"]
    assert error["code"] == -32602 and "no such subscription" in error["message"]
    error = client.call("eth_subscribe", "newHeads", {"x": 1})["error"]
    assert error["code"] == -32602
    # A logs filter is checked whole: garbage and ranges it cannot serve are refused.
    for options, words in (({"fromBlock": "garbage"}, "fromBlock"), ({"toBlock": "0x-1"}, "toBlock"),
                           ({"fromBlock": "0x1"}, "new blocks only"), ({"blockHash": "0x" + "11" * 32}, "new blocks only"),
                           ({"topics": [[None, "0x12"]]}, "topics")):
        error = client.call("eth_subscribe", "logs", options)["error"]
        assert error["code"] == -32602 and words in error["message"], (options, error)
    assert client.call("eth_subscribe", "logs", {"fromBlock": "latest", "toBlock": "latest"})["result"]
    http = Rpc(env.server.url)
    error = http.error("eth_subscribe", "newHeads")
    assert error["code"] == -32601 and "notifications not supported" in error["message"]


def test_subscriptions_end_with_their_connection(env):
    hub = env.app.state.gateway.subscriptions
    before = len(hub)
    other = Client(env.server.ws_url)
    other.result("eth_subscribe", "newHeads")
    other.result("eth_subscribe", "logs")
    assert len(hub) == before + 2
    other.close()
    deadline = time.monotonic() + 30
    while len(hub) != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(hub) == before
    env.node.produce_block()  # no one to notify: nothing breaks
    assert Rpc(env.server.url).result("eth_chainId") == hex(CHAIN_ID)
