"""The JSON-RPC gateway over HTTP on a real dev domain: every method answers (and validates
against the execution-apis schemas), the JSON-RPC envelope rules, transport limits and CORS,
typed errors that leave the server serving, historical state, the pending nonce, fee pricing
and the dev signer on and off.

One chain per module, built by the tests' own transactions through the node's pool and
`produce_block()` (no timer): block 1 holds a legacy, an access-list and a dynamic-fee
transfer, block 2 a contract creation and two log-emitting calls. Tests that add blocks only
inspect what they added.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from eth_utils import to_canonical_address, to_checksum_address
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.rpc.fees import SUGGESTED_TIP
from domains.rpc.methods import all_methods
from domains.evm import execution, tracing
from domains.rpc import dispatch
from domains.rpc.errors import ParseError
from domains.rpc.server import build_app, decode_json, json_nesting_depth
from domains.rpc.testing import LiveServer
from tests.rpc_schema import method_names, validate_result

ACCOUNTS = dev_accounts()
GENESIS_TIME = 1_700_000_000
CHAIN_ID = 8_701_337

#: LOG3(topics = the three calldata words, no data).
LOGGER = to_canonical_address("0x" + "10" * 20)
LOGGER_CODE = bytes.fromhex("604035602035600035600060" + "00a300")
#: REVERT with the calldata as revert data.
REVERTER = to_canonical_address("0x" + "20" * 20)
REVERTER_CODE = bytes.fromhex("3660006000373660" + "00fd")
#: Init code returning LOGGER_CODE as the runtime.
LOGGER_INIT = bytes.fromhex("600f80600b6000396000f3") + LOGGER_CODE

TOPIC_A = keccak(b"topic A")
TOPIC_B = keccak(b"topic B")
TOPIC_C = keccak(b"topic C")


def error_data(reason: str) -> bytes:
    """ABI-encoded `Error(string)` revert data."""
    return bytes.fromhex("08c379a0") + encode(["string"], [reason])


class Rpc:
    """A JSON-RPC client over httpx that checks the transport rules on every call."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60)
        self.next_id = 0

    def raw(self, body, **kwargs) -> httpx.Response:
        kwargs.setdefault("headers", {"Content-Type": "application/json"})
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = self.client.post("/", content=content, **kwargs)
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:200]}"
        return response

    def call(self, method: str, *params):
        self.next_id += 1
        body = self.raw({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)}).json()
        assert body["id"] == self.next_id and body["jsonrpc"] == "2.0"
        return body

    def result(self, method: str, *params):
        body = self.call(method, *params)
        assert "error" not in body, f"{method}: {body['error']}"
        return body["result"]

    def error(self, method: str, *params) -> dict:
        body = self.call(method, *params)
        assert "error" in body, f"{method} answered {body.get('result')!r}, expected an error"
        return body["error"]


@dataclass
class Env:
    node: DomainNode
    chain: DomainChain
    rpc: Rpc
    url: str
    hashes: dict[str, str] = field(default_factory=dict)
    created: str = ""


def sign(key: bytes, **fields) -> bytes:
    tx = {"chainId": CHAIN_ID, "gas": 100_000, "value": 0, "data": b""}
    tx.update(fields)
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx.update(maxFeePerGas=10**11, maxPriorityFeePerGas=10**9)
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def send(env: Env, key: bytes, **fields) -> str:
    return env.rpc.result("eth_sendRawTransaction", "0x" + sign(key, **fields).hex())


@pytest.fixture(scope="module")
def env():
    tmp = Path(tempfile.mkdtemp(prefix="rpc-gateway-"))
    extra = {LOGGER: {"balance": 0, "nonce": 1, "code": LOGGER_CODE, "storage": {}},
             REVERTER: {"balance": 0, "nonce": 1, "code": REVERTER_CODE, "storage": {}}}
    chain = DomainChain.create(tmp / "domain", dev_genesis(timestamp=GENESIS_TIME, extra_alloc=extra))
    node = DomainNode(chain, dev_keys={to_canonical_address(a): k for a, k in ACCOUNTS})
    server = LiveServer(build_app(node, dev_signer=True, max_body_bytes=64 * 1024, max_batch=20)).start()
    env = Env(node=node, chain=chain, rpc=Rpc(server.url), url=server.url)
    (a0, k0), (a1, k1), (a2, k2), (a3, k3) = ACCOUNTS[:4]
    # block 1: the three transaction types
    env.hashes["legacy"] = send(env, k1, nonce=0, to=a0, value=5, gas=21_000, gasPrice=10**10)
    env.hashes["access_list"] = send(env, k2, nonce=0, to=to_checksum_address(LOGGER), gas=60_000,
                                     gasPrice=10**10, accessList=[{"address": to_checksum_address(LOGGER),
                                                                   "storageKeys": ["0x" + "00" * 32]}],
                                     data=TOPIC_A + TOPIC_B + TOPIC_C)
    env.hashes["dynamic"] = send(env, k0, nonce=0, to=a1, value=7, gas=21_000)
    node.produce_block(timestamp=GENESIS_TIME + 10)
    # block 2: a creation and two log-emitting calls
    env.hashes["create"] = send(env, k3, nonce=0, data=LOGGER_INIT, gas=200_000)
    env.hashes["log_ab"] = send(env, k0, nonce=1, to=to_checksum_address(LOGGER), data=TOPIC_A + TOPIC_B + TOPIC_B)
    env.hashes["log_ca"] = send(env, k1, nonce=1, to=to_checksum_address(LOGGER), data=TOPIC_C + TOPIC_A + TOPIC_B)
    node.produce_block(timestamp=GENESIS_TIME + 20)
    env.created = env.rpc.result("eth_getTransactionReceipt", env.hashes["create"])["contractAddress"]
    yield env
    server.stop()
    chain.close()
    shutil.rmtree(tmp, ignore_errors=True)


def validated(method: str, result):
    """`result`, after checking it against the method's execution-apis result schema."""
    validate_result(method, result)
    return result


# -- every method ------------------------------------------------------------------------------

#: Methods of the execution-apis specification the gateway does not serve, and why.
NOT_SERVED = {
    "eth_simulateV1": "multi-block simulation is not implemented (see the gateway's report)",
}
#: Spec methods whose only meaningful answer on a domain is an error.
CONSENSUS_CALLS = {
    "chain_getBlockHash": [0], "chain_getHeader": [], "chain_getBlock": [], "chain_subscribeNewHeads": [],
    "chain_unsubscribeNewHeads": ["0x1"], "author_submitExtrinsic": ["0x00"], "system_chain": [],
    "system_health": [], "subspace_getFarmerAppInfo": [], "subspace_lastSegmentHeaders": [1],
    "subspace_segmentHeaders": [[0]], "subspace_piece": [0], "subspace_potInfo": [],
    "subspace_solutionRanges": [], "subspace_subscribeSlotInfo": [], "subspace_unsubscribeSlotInfo": ["0x1"],
}
ERROR_ANSWERS = {"eth_getBlockAccessList": -32001, "debug_getRawBlockAccessList": -32001,
                 **{method: -32601 for method in CONSENSUS_CALLS}}


def example_calls(env: Env) -> dict[str, list]:
    """Working parameters for every method the gateway serves."""
    a0, a1 = ACCOUNTS[0][0], ACCOUNTS[1][0]
    block1 = env.rpc.result("eth_getBlockByNumber", "0x1", False)["hash"]
    call = {"from": a0, "to": to_checksum_address(LOGGER), "data": "0x" + (TOPIC_A * 3).hex()}
    # FilterResults is a oneOf whose branches both accept [], so the block filter must see a block
    block_filter = env.rpc.result("eth_newBlockFilter")
    env.node.produce_block()
    return {
        "eth_chainId": [], "eth_blockNumber": [], "eth_syncing": [], "eth_coinbase": [], "eth_accounts": [],
        "eth_gasPrice": [], "eth_maxPriorityFeePerGas": [], "eth_baseFee": [], "eth_blobBaseFee": [],
        "eth_feeHistory": ["0x2", "latest", [25, 75]],
        "eth_getBalance": [a0, "0x1"], "eth_getCode": [to_checksum_address(LOGGER), "latest"],
        "eth_getStorageAt": [a0, "0x0", "latest"], "eth_getStorageValues": [{a0: ["0x0", "0x1"]}, "latest"],
        "eth_getTransactionCount": [a0, "pending"], "eth_getProof": [a0, ["0x0"], "latest"],
        "eth_call": [call, "latest"], "eth_estimateGas": [call], "eth_createAccessList": [call, "latest"],
        "eth_simulateV1": [{"blockStateCalls": [{"calls": [call]}], "traceTransfers": True}, "latest"],
        "eth_fillTransaction": [{"from": a0, "to": a1, "value": "0x1"}],
        "eth_sendRawTransaction": ["0x" + sign(ACCOUNTS[5][1], nonce=0, to=a1, gas=21_000).hex()],
        "eth_sendTransaction": [{"from": ACCOUNTS[6][0], "to": a1, "value": "0x1"}],
        "eth_signTransaction": [{"from": a0, "to": a1, "value": "0x1"}],
        "eth_sign": [a0, "0xdeadbeef"],
        "eth_getBlockByNumber": ["0x2", True], "eth_getBlockByHash": [block1, True],
        "eth_getBlockTransactionCountByNumber": ["0x1"], "eth_getBlockTransactionCountByHash": [block1],
        "eth_getUncleCountByBlockNumber": ["0x1"], "eth_getUncleCountByBlockHash": [block1],
        "eth_getUncleByBlockNumberAndIndex": ["0x1", "0x0"], "eth_getUncleByBlockHashAndIndex": [block1, "0x0"],
        "eth_getTransactionByHash": [env.hashes["dynamic"]],
        "eth_getTransactionByBlockHashAndIndex": [block1, "0x1"],
        "eth_getTransactionByBlockNumberAndIndex": ["0x1", "0x0"],
        "eth_getTransactionReceipt": [env.hashes["log_ab"]], "eth_getBlockReceipts": ["0x2"],
        "eth_getBlockAccessList": ["0x1"],
        "eth_getLogs": [{"fromBlock": "0x0", "toBlock": "latest"}],
        "eth_newFilter": [{"fromBlock": "0x1", "address": to_checksum_address(LOGGER)}],
        "eth_newBlockFilter": [], "eth_newPendingTransactionFilter": [],
        "eth_getFilterChanges": [block_filter],
        "eth_getFilterLogs": [env.rpc.result("eth_newFilter", {"fromBlock": "0x1"})],
        "eth_uninstallFilter": [env.rpc.result("eth_newBlockFilter")],
        "eth_subscribe": ["newHeads"], "eth_unsubscribe": ["0x1"],
        "eth_capabilities": [], "eth_config": [],
        "net_version": [], "net_listening": [], "net_peerCount": [], "web3_clientVersion": [],
        "web3_sha3": ["0x68656c6c6f"],
        "txpool_status": [], "txpool_content": [], "txpool_contentFrom": [a0], "txpool_inspect": [],
        "debug_getRawHeader": ["0x1"], "debug_getRawBlock": ["0x1"], "debug_getRawReceipts": ["0x2"],
        "debug_getRawTransaction": [env.hashes["legacy"]], "debug_getBadBlocks": [],
        "debug_getRawBlockAccessList": ["0x1"],
        "debug_traceTransaction": [env.hashes["log_ab"]],
        "debug_traceBlockByNumber": ["0x2", {"tracer": "callTracer"}],
        "debug_traceBlockByHash": [block1],
        "debug_traceCall": [call, "latest", {"tracer": "callTracer"}],
        "autonomys_registries": [],
        # the consensus chain's methods: this gateway serves a domain alone, so each is -32601
        # (tests/test_consensus_rpc.py serves them beside a consensus node)
        **{method: params for method, params in CONSENSUS_CALLS.items()},
    }


def test_every_spec_method_is_served(env):
    served = set(all_methods())
    missing = method_names() - served - set(NOT_SERVED)
    assert not missing, f"spec methods without a handler: {sorted(missing)}"
    assert set(example_calls(env)) == served, "every served method needs an example call here"


def test_every_method_answers_and_validates(env):
    over_http_only_errors = {"eth_subscribe": -32601, "eth_unsubscribe": -32601}
    for method, params in example_calls(env).items():
        body = env.rpc.call(method, *params)
        expected_error = ERROR_ANSWERS.get(method) or over_http_only_errors.get(method)
        if expected_error is not None:
            assert body.get("error", {}).get("code") == expected_error, f"{method}: {body}"
            continue
        assert "error" not in body, f"{method}{params}: {body['error']}"
        if method in method_names():
            validated(method, body["result"])
    assert env.rpc.result("eth_chainId")  # still serving


# -- chain data --------------------------------------------------------------------------------

def test_registries_are_reported_with_their_fixed_addresses(env):
    from domains.evm.predeploys import predeploy_addresses

    found = env.rpc.result("autonomys_registries")
    assert found == {**predeploy_addresses(), "X509Precompile": "0x0000000000000000000000000000000000000801"}
    for name, address in predeploy_addresses().items():
        assert len(env.rpc.result("eth_getCode", address, "latest")) > 2, name
    precompiles = env.rpc.result("eth_config")["current"]["precompiles"]
    assert precompiles["AUTONOMYS_X509"] == "0x0000000000000000000000000000000000000801"


def test_identity_methods(env):
    assert env.rpc.result("eth_chainId") == hex(CHAIN_ID)
    assert env.rpc.result("net_version") == str(CHAIN_ID)
    assert env.rpc.result("web3_clientVersion") == "autonomys/v0.1.0/python"
    assert env.rpc.result("web3_sha3", "0x68656c6c6f") == "0x" + keccak(b"hello").hex()
    assert env.rpc.result("eth_syncing") is False
    assert env.rpc.result("net_peerCount") == "0x0"
    assert env.rpc.result("net_listening") is True


def test_blocks_by_number_hash_and_tag(env):
    latest = validated("eth_getBlockByNumber", env.rpc.result("eth_getBlockByNumber", "latest", False))
    number = int(latest["number"], 16)
    assert number == int(env.rpc.result("eth_blockNumber"), 16)
    for tag in ("safe", "finalized", "pending"):
        assert env.rpc.result("eth_getBlockByNumber", tag, False)["hash"] == latest["hash"]
    genesis = env.rpc.result("eth_getBlockByNumber", "earliest", False)
    assert genesis["number"] == "0x0" and genesis["transactions"] == []
    block1 = env.rpc.result("eth_getBlockByNumber", "0x1", True)
    assert [tx["hash"] for tx in block1["transactions"]] == [
        env.hashes["legacy"], env.hashes["access_list"], env.hashes["dynamic"]]
    assert env.rpc.result("eth_getBlockByHash", block1["hash"], True) == block1
    assert block1["parentHash"] == genesis["hash"]
    for name in ("baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot",
                 "requestsHash", "size", "mixHash", "nonce"):
        assert name in block1, name
    assert block1["withdrawals"] == [] and block1["uncles"] == []
    raw = env.rpc.result("debug_getRawBlock", "0x1")
    assert int(block1["size"], 16) == len(bytes.fromhex(raw[2:]))
    assert keccak(bytes.fromhex(env.rpc.result("debug_getRawHeader", "0x1")[2:])).hex() == block1["hash"][2:]
    # beyond the head: null for blocks, counts and transactions
    beyond = hex(number + 100)
    assert env.rpc.result("eth_getBlockByNumber", beyond, False) is None
    assert env.rpc.result("eth_getBlockByHash", "0x" + "ab" * 32, False) is None
    assert env.rpc.result("eth_getBlockTransactionCountByNumber", beyond) is None
    assert env.rpc.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x9") is None
    assert env.rpc.result("eth_getBlockTransactionCountByNumber", "0x1") == "0x3"
    assert env.rpc.result("eth_getUncleCountByBlockNumber", "0x1") == "0x0"
    assert env.rpc.result("eth_getUncleByBlockNumberAndIndex", "0x1", "0x0") is None


def test_transaction_objects_by_type(env):
    legacy = validated("eth_getTransactionByHash", env.rpc.result("eth_getTransactionByHash", env.hashes["legacy"]))
    assert legacy["type"] == "0x0" and legacy["chainId"] == hex(CHAIN_ID) and "yParity" not in legacy
    assert int(legacy["v"], 16) in (CHAIN_ID * 2 + 35, CHAIN_ID * 2 + 36)
    assert legacy["gasPrice"] == hex(10**10) and legacy["from"] == ACCOUNTS[1][0].lower()
    assert legacy["blockNumber"] == "0x1" and legacy["transactionIndex"] == "0x0"
    assert legacy["blockTimestamp"] == hex(GENESIS_TIME + 10)

    typed1 = validated("eth_getTransactionByHash", env.rpc.result("eth_getTransactionByHash", env.hashes["access_list"]))
    assert typed1["type"] == "0x1" and typed1["yParity"] == typed1["v"]
    assert typed1["accessList"] == [{"address": "0x" + LOGGER.hex(), "storageKeys": ["0x" + "00" * 32]}]

    dynamic = validated("eth_getTransactionByHash", env.rpc.result("eth_getTransactionByHash", env.hashes["dynamic"]))
    base_fee = int(env.rpc.result("eth_getBlockByNumber", "0x1", False)["baseFeePerGas"], 16)
    assert dynamic["type"] == "0x2" and dynamic["maxFeePerGas"] == hex(10**11)
    assert dynamic["maxPriorityFeePerGas"] == hex(10**9)
    assert int(dynamic["gasPrice"], 16) == base_fee + 10**9  # the effective price once mined
    by_position = env.rpc.result("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x2")
    assert by_position == dynamic
    assert env.rpc.result("debug_getRawTransaction", env.hashes["dynamic"]).startswith("0x02")


def test_receipts(env):
    create = validated("eth_getTransactionReceipt", env.rpc.result("eth_getTransactionReceipt", env.hashes["create"]))
    expected_address = "0x" + keccak(bytes.fromhex("d694") + to_canonical_address(ACCOUNTS[3][0]) + b"\x80")[12:].hex()
    assert create["contractAddress"] == expected_address and create["to"] is None
    assert env.rpc.result("eth_getCode", create["contractAddress"]) == "0x" + LOGGER_CODE.hex()
    receipts = validated("eth_getBlockReceipts", env.rpc.result("eth_getBlockReceipts", "0x2"))
    assert [r["transactionHash"] for r in receipts] == [env.hashes["create"], env.hashes["log_ab"], env.hashes["log_ca"]]
    assert receipts[0] == create
    cumulative = 0
    for index, receipt in enumerate(receipts):
        cumulative += int(receipt["gasUsed"], 16)
        assert int(receipt["cumulativeGasUsed"], 16) == cumulative
        assert receipt["status"] == "0x1" and receipt["type"] == "0x2" and receipt["transactionIndex"] == hex(index)
    block = env.rpc.result("eth_getBlockByNumber", "0x2", False)
    assert int(block["gasUsed"], 16) == cumulative
    # log indexes run across the block
    assert [log["logIndex"] for r in receipts for log in r["logs"]] == ["0x0", "0x1"]
    assert receipts[1]["logs"][0]["topics"] == ["0x" + t.hex() for t in (TOPIC_A, TOPIC_B, TOPIC_B)]
    assert receipts[1]["logs"][0]["blockTimestamp"] == hex(GENESIS_TIME + 20)
    base_fee = int(block["baseFeePerGas"], 16)
    assert int(receipts[1]["effectiveGasPrice"], 16) == base_fee + 10**9
    raw = env.rpc.result("debug_getRawReceipts", "0x2")
    assert len(raw) == 3 and all(r.startswith("0x02") for r in raw)
    assert env.rpc.result("eth_getTransactionReceipt", "0x" + "00" * 32) is None


# -- state at any block ------------------------------------------------------------------------

def test_historical_state_by_number_hash_and_eip1898(env):
    a1 = ACCOUNTS[1][0]
    genesis_balance = int(env.rpc.result("eth_getBalance", a1, "0x0"), 16)
    after_block1 = int(env.rpc.result("eth_getBalance", a1, "0x1"), 16)
    receipt = env.rpc.result("eth_getTransactionReceipt", env.hashes["legacy"])
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert after_block1 == genesis_balance - 5 - fee + 7  # sent 5 + fee, received 7
    block1 = env.rpc.result("eth_getBlockByNumber", "0x1", False)["hash"]
    assert int(env.rpc.result("eth_getBalance", a1, block1), 16) == after_block1
    assert int(env.rpc.result("eth_getBalance", a1, {"blockHash": block1, "requireCanonical": True}), 16) == after_block1
    assert int(env.rpc.result("eth_getBalance", a1, {"blockNumber": "0x0"}), 16) == genesis_balance
    assert env.rpc.result("eth_getTransactionCount", a1, "0x0") == "0x0"
    assert env.rpc.result("eth_getTransactionCount", a1, "0x2") == "0x2"
    assert env.rpc.result("eth_getCode", env.created, "0x1") == "0x"
    assert env.rpc.result("eth_getCode", env.created, "0x2") == "0x" + LOGGER_CODE.hex()
    assert env.rpc.result("eth_getStorageAt", a1, "0x0", "earliest") == "0x" + "00" * 32
    error = env.rpc.error("eth_getBalance", a1, "0xffff")
    assert error == {"code": -32000, "message": "header not found"}
    error = env.rpc.error("eth_getBalance", a1, "0x" + "ab" * 32)
    assert error["code"] == -32000 and "not found" in error["message"]


def test_pending_nonce_counts_the_pool(env):
    sender, key = ACCOUNTS[7]
    assert env.rpc.result("eth_getTransactionCount", sender, "pending") == "0x0"
    hashes = [send(env, key, nonce=n, to=ACCOUNTS[0][0], gas=21_000) for n in (0, 1)]
    assert env.rpc.result("eth_getTransactionCount", sender, "pending") == "0x2"
    assert env.rpc.result("eth_getTransactionCount", sender, "latest") == "0x0"
    pending = validated("txpool_status", env.rpc.result("txpool_status"))
    assert int(pending["pending"], 16) >= 2
    content = validated("txpool_contentFrom", env.rpc.result("txpool_contentFrom", sender))
    assert [tx["hash"] for tx in content["pending"].values()] == hashes
    listed = validated("txpool_content", env.rpc.result("txpool_content"))["pending"][to_checksum_address(sender)]
    assert listed["0"]["hash"] == hashes[0]
    summary = env.rpc.result("txpool_inspect")["pending"][to_checksum_address(sender)]["1"]
    assert summary.startswith(f"{ACCOUNTS[0][0]}: 0 wei + 21000 gas × ")
    # pending: null block fields; then mined
    tx = env.rpc.result("eth_getTransactionByHash", hashes[0])
    assert tx["blockHash"] is None and tx["blockNumber"] is None and tx["transactionIndex"] is None
    assert tx["gasPrice"] == tx["maxFeePerGas"]
    env.node.produce_block()
    assert env.rpc.result("eth_getTransactionByHash", hashes[0])["blockHash"] is not None
    assert env.rpc.result("eth_getTransactionCount", sender, "latest") == "0x2"


# -- fees --------------------------------------------------------------------------------------

def test_gas_price_is_enough_as_fee_cap_and_tip(env):
    """MetaMask on a custom network: maxFee = maxPriorityFee = eth_gasPrice."""
    next_base = int(env.rpc.result("eth_baseFee"), 16)
    price = int(env.rpc.result("eth_gasPrice"), 16)
    assert price == 2 * next_base + SUGGESTED_TIP
    assert int(env.rpc.result("eth_maxPriorityFeePerGas"), 16) == SUGGESTED_TIP
    sender, key = ACCOUNTS[8]
    tx_hash = send(env, key, nonce=0, to=ACCOUNTS[0][0], gas=21_000, maxFeePerGas=price, maxPriorityFeePerGas=price)
    legacy_hash = send(env, key, nonce=1, to=ACCOUNTS[0][0], gas=21_000, gasPrice=price)
    built = env.node.produce_block()
    assert {"0x" + tx.hash.hex() for tx in built.block.transactions} >= {tx_hash, legacy_hash}
    assert int(env.rpc.result("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16) == next_base


def test_fee_history(env):
    history = validated("eth_feeHistory", env.rpc.result("eth_feeHistory", "0x3", "0x2", [0, 50, 100]))
    assert history["oldestBlock"] == "0x0"
    assert len(history["baseFeePerGas"]) == 4 and len(history["gasUsedRatio"]) == 3
    block3 = env.rpc.result("eth_getBlockByNumber", "0x3", False)
    assert history["baseFeePerGas"][3] == block3["baseFeePerGas"]
    assert history["reward"][0] == ["0x0"] * 3  # genesis: empty
    # block 1: tips are 10**10 - base (legacy and type 1) and 10**9 (dynamic)
    base1 = int(history["baseFeePerGas"][1], 16)
    assert int(history["reward"][1][0], 16) == 10**9 and int(history["reward"][1][2], 16) == 10**10 - base1
    assert env.rpc.result("eth_feeHistory", 5, "latest", None)["oldestBlock"]  # a JSON integer count works
    error = env.rpc.error("eth_feeHistory", "0x2", "latest", [50, 10])
    assert error["code"] == -32602 and "rewardPercentiles" in error["message"]


# -- execution ---------------------------------------------------------------------------------

def test_call_estimate_and_revert_with_reason(env):
    call = {"from": ACCOUNTS[0][0], "to": to_checksum_address(REVERTER), "data": "0x" + error_data("nope").hex()}
    for method in ("eth_call", "eth_estimateGas"):
        error = env.rpc.error(method, call)
        assert error == {"code": 3, "message": "execution reverted: nope", "data": call["data"]}
    custom = dict(call, data="0x12345678")
    assert env.rpc.error("eth_call", custom) == {"code": 3, "message": "execution reverted", "data": "0x12345678"}
    transfer = {"from": ACCOUNTS[0][0], "to": ACCOUNTS[1][0], "value": "0x1"}
    assert env.rpc.result("eth_estimateGas", transfer) == hex(21_000)
    # state overrides: give the logger's address other code for one call
    override = {"0x" + LOGGER.hex(): {"code": "0x60426000526020" + "6000f3"}}
    assert env.rpc.result("eth_call", {"to": "0x" + LOGGER.hex()}, "latest", override) == "0x" + (0x42).to_bytes(32, "big").hex()
    assert env.rpc.result("eth_call", {"to": "0x" + LOGGER.hex()}, "latest") == "0x"
    error = env.rpc.error("eth_call", {"to": "0x" + LOGGER.hex()}, "latest", {"0x12": {}})
    assert error["code"] == -32602 and "stateOverrides" in error["message"]
    error = env.rpc.error("eth_call", {"to": "0x" + LOGGER.hex(), "gas": 5})
    assert error["code"] == -32602 and "gas" in error["message"]
    access = validated("eth_createAccessList", env.rpc.result("eth_createAccessList", {
        "from": ACCOUNTS[0][0], "to": "0x" + LOGGER.hex(), "data": "0x" + (TOPIC_A * 3).hex()}))
    assert int(access["gasUsed"], 16) > 21_000


def test_get_proof_matches_state(env):
    a0 = ACCOUNTS[0][0]
    proof = validated("eth_getProof", env.rpc.result("eth_getProof", a0, [], "0x1"))
    assert proof["balance"] == env.rpc.result("eth_getBalance", a0, "0x1")
    assert proof["nonce"] == env.rpc.result("eth_getTransactionCount", a0, "0x1")
    state_root = env.rpc.result("eth_getBlockByNumber", "0x1", False)["stateRoot"]
    assert keccak(bytes.fromhex(proof["accountProof"][0][2:])).hex() == state_root[2:]


# -- the JSON-RPC envelope ---------------------------------------------------------------------

def test_batch_keeps_order_and_skips_notifications(env):
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "method": "eth_blockNumber"},  # notification: no answer
        {"jsonrpc": "2.0", "id": 7, "method": "no_suchMethod"},
        42,
        {"jsonrpc": "2.0", "id": None, "method": "net_version", "params": []},
        {"jsonrpc": "2.0", "id": 9, "method": "eth_getBalance", "params": ["0x12"]},
    ]
    answers = env.rpc.raw(batch).json()
    assert [a["id"] for a in answers] == ["a", 7, None, None, 9]
    assert answers[0]["result"] == hex(CHAIN_ID)
    assert answers[1]["error"]["code"] == -32601
    assert answers[2]["error"]["code"] == -32600
    assert answers[3]["result"] == str(CHAIN_ID)
    assert answers[4]["error"]["code"] == -32602
    only_notifications = env.rpc.raw([{"jsonrpc": "2.0", "method": "eth_chainId"}])
    assert only_notifications.content == b""
    assert env.rpc.raw([]).json()["error"]["code"] == -32600
    too_many = env.rpc.raw([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(21)]).json()
    assert too_many["error"]["code"] == -32600 and "batch too large" in too_many["error"]["message"]


def test_parse_errors_and_invalid_requests(env):
    for body in (b"{not json", b"\xff\xfe", b""):
        answer = env.rpc.raw(body).json()
        assert answer["id"] is None and answer["error"]["code"] == -32700
    for request in ({"jsonrpc": "2.0", "id": 1}, {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
                    {"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"}, b'"eth_chainId"', b"5"):
        answer = env.rpc.raw(request).json()
        assert answer["error"]["code"] == -32600, request
    answer = env.rpc.raw({"jsonrpc": "2.0", "id": 3, "method": "eth_chainId", "params": {"a": 1}}).json()
    assert answer["error"]["code"] == -32602
    # The messages speak JSON, and echo a bounded piece of what was sent.
    assert env.rpc.raw(b"null").json()["error"]["message"] == "invalid request: expected a JSON object, got null"
    answer = env.rpc.raw({"jsonrpc": "x" * 10_000, "id": 4, "method": "eth_chainId"}).json()
    assert answer["error"]["code"] == -32600 and len(answer["error"]["message"]) < 200


def test_hostile_json_is_a_parse_error_and_the_server_keeps_serving(env):
    # 100,000 nested arrays overflowed the C stack inside json.loads and killed the process
    # (py-evm raises the recursion limit, so no RecursionError came first).
    with pytest.raises(ParseError, match="nest deeper than 512"):
        decode_json(b"[" * 100_000 + b"]" * 100_000)
    assert decode_json(b"[" * 512 + b"]" * 512) is not None
    assert decode_json('["' + "[" * 5_000 + '"]') == ["[" * 5_000]  # brackets in strings do not nest
    assert json_nesting_depth(b'[{"x": [1, "]]]"]}, []]') == 3
    assert json_nesting_depth(b'["\\"[[[", [["\\\\"]]]') == 3  # escaped quotes end no string
    answer = env.rpc.raw(b"[" * 600 + b"]" * 600).json()
    assert answer["error"]["code"] == -32700 and "nest deeper than 512 levels" in answer["error"]["message"]
    # NaN, Infinity and overflowing numbers are not JSON (and could not be echoed back as an id).
    for body in (b'{"jsonrpc":"2.0","id":NaN,"method":"eth_chainId"}', b'{"jsonrpc":"2.0","id":-Infinity,"method":"x"}',
                 b'{"jsonrpc":"2.0","id":1e400,"method":"eth_chainId"}'):
        answer = env.rpc.raw(body).json()
        assert answer == {"jsonrpc": "2.0", "id": None, "error": answer["error"]} and answer["error"]["code"] == -32700
    answer = env.rpc.raw(b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"eth_chainId"}').json()
    assert answer["error"] == {"code": -32700, "message": "parse error: integer of 5000 digits is out of range"}
    assert env.rpc.error("eth_feeHistory", 2**70, "latest")["code"] == -32602
    assert env.rpc.error("debug_traceTransaction", env.hashes["log_ca"], {"limit": 2**70})["code"] == -32602
    assert env.rpc.result("eth_chainId") == hex(CHAIN_ID)


def test_hex_parameters_take_hex_digits_only(env):
    """Python's int(s, 16) and bytes.fromhex take signs, blanks, underscores and non-ASCII
    digits: "0x-1" reached py-evm as block -1 (a -32603) and "0x١" read as block 1."""
    address = ACCOUNTS[0][0]
    for bad in ("0x-1", "0x+1", "0x 1", "0x1 ", "0x1_0", "0x\u0661", "0x-0"):
        error = env.rpc.error("eth_getBalance", address, bad)
        assert error["code"] == -32602 and "invalid hex" in error["message"], (bad, error)
        error = env.rpc.error("eth_getStorageAt", address, bad, "latest")
        assert error["code"] == -32602 and "invalid hex" in error["message"], (bad, error)
    error = env.rpc.error("eth_getTransactionByBlockNumberAndIndex", "0x2", "0x-1")
    assert error["code"] == -32602
    error = env.rpc.error("eth_getBalance", address + "  ")
    assert error["code"] == -32602 and "invalid hex" in error["message"]
    assert env.rpc.error("web3_sha3", "0x00  00")["code"] == -32602
    assert env.rpc.result("eth_getBalance", address, "0X2") == env.rpc.result("eth_getBalance", address, "0x2")


def test_log_filters_read_like_geth(env):
    everything = env.rpc.result("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x2"})
    assert everything and env.rpc.result("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x2", "address": []}) == everything
    error = env.rpc.error("eth_getLogs", {"fromBlock": "0x0", "topics": [[None, "garbage"]]})
    assert error["code"] == -32602 and "topics: position 0" in error["message"]
    error = env.rpc.error("eth_newFilter", {"fromBlock": "0x2", "toBlock": "0x1"})
    assert error == {"code": -32602, "message": "invalid block range params"}


def test_unknown_method_and_bad_params_name_the_parameter(env):
    assert env.rpc.error("eth_noSuchThing") == {
        "code": -32601, "message": "the method eth_noSuchThing does not exist/is not available"}
    cases = [
        (("eth_getBalance", 5), "invalid argument 0 (address)"),
        (("eth_getBalance", "0x1234"), "invalid argument 0 (address): address must be 20 bytes"),
        (("eth_getBalance", ACCOUNTS[0][0], "sometime"), "invalid argument 1 (block): unknown block tag"),
        (("eth_getBlockByNumber", "1", False), "invalid argument 0 (block): hex string without 0x prefix"),
        (("eth_getBlockByNumber", "0x1", "yes"), "invalid argument 1 (hydrated)"),
        (("eth_getBlockByNumber", "0x1"), "missing value for required argument 1 (hydrated)"),
        (("eth_chainId", 1), "too many arguments, want at most 0"),
        (("eth_getStorageAt", ACCOUNTS[0][0], "0x" + "1" * 65), "storage key too long"),
        (("eth_sendRawTransaction", "0x123"), "invalid argument 0 (transaction): hex string of odd length"),
        (("eth_getLogs", {"topics": [1]}), "invalid argument 0 (filter): topics"),
    ]
    for (method, *params), message in cases:
        error = env.rpc.error(method, *params)
        assert error["code"] == -32602 and message in error["message"], (method, params, error)


def test_pool_rejections_keep_their_code_and_message(env):
    sender, key = ACCOUNTS[9]
    cases = [
        ("0xdeadbeef", -32602, "invalid transaction"),
        ("0x" + sign(key, nonce=0, to=ACCOUNTS[0][0], gas=21_000, chainId=1).hex(), -32000, "invalid chain id"),
        ("0x" + sign(key, nonce=0, to=ACCOUNTS[0][0], gas=21_000, value=10**30).hex(), -32000,
         "insufficient funds for gas * price + value"),
        ("0x" + sign(key, nonce=0, to=ACCOUNTS[0][0], gas=20_000).hex(), -32000, "intrinsic gas too low"),
    ]
    for raw, code, message in cases:
        error = env.rpc.error("eth_sendRawTransaction", raw)
        assert error["code"] == code and error["message"].startswith(message), error
    send(env, key, nonce=0, to=ACCOUNTS[0][0], gas=21_000)
    env.node.produce_block()
    error = env.rpc.error("eth_sendRawTransaction", "0x" + sign(key, nonce=0, to=ACCOUNTS[1][0], gas=21_000).hex())
    assert error["code"] == -32000 and error["message"].startswith("nonce too low")
    assert env.rpc.result("eth_chainId") == hex(CHAIN_ID)


# -- transport -----------------------------------------------------------------------------------

def test_cors_preflight_and_headers(env):
    origin = "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn"
    preflight = env.rpc.client.options("/", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]
    answer = env.rpc.raw({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                         headers={"Origin": origin, "Content-Type": "application/json"})
    assert answer.headers["access-control-allow-origin"] == "*"


def test_body_size_limit_is_a_json_rpc_error(env):
    big = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x" + "00" * 40_000]}
    answer = env.rpc.raw(big).json()
    assert answer["error"]["code"] == -32600 and "too large" in answer["error"]["message"]

    def chunks():  # no Content-Length: the limit applies while streaming
        yield b'{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x'
        for _ in range(20):
            yield b"00" * 2048
        yield b'"]}'

    streamed = env.rpc.client.post("/", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 200 and streamed.json()["error"]["code"] == -32600
    assert env.rpc.result("eth_chainId") == hex(CHAIN_ID)


def test_origin_less_fast_path_answers_like_the_fastapi_route(env):
    """POSTs without `Origin` take `PlainPostFastPath`; with one, FastAPI's route (plus CORS):
    the same bodies get the same status, content type and answers either way."""
    origin = {"Origin": "https://dapp.example", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}

    def chunks():  # streamed, no Content-Length, over the 64 KiB limit
        yield b'{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x'
        for _ in range(20):
            yield b"00" * 2048
        yield b'"]}'

    bodies = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}),
        json.dumps([{"jsonrpc": "2.0", "id": "a", "method": "net_version"}, {"jsonrpc": "2.0", "method": "eth_chainId"},
                    {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": ["0x12"]}]),
        json.dumps([{"jsonrpc": "2.0", "method": "eth_chainId"}]),  # notifications only: empty body
        b"{not json", b"", b"\xff",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": ["0x" + "00" * 40_000]}),
    ]
    for body in bodies:
        a = env.rpc.client.post("/", content=body, headers=plain)
        b = env.rpc.client.post("/", content=body, headers=origin)
        assert (a.status_code, b.status_code) == (200, 200), body[:60]
        assert a.headers["content-type"] == b.headers["content-type"] == "application/json", body[:60]
        assert a.content == b.content == b"" or a.json() == b.json(), body[:60]
        assert "access-control-allow-origin" in b.headers and "access-control-allow-origin" not in a.headers
    streamed = [env.rpc.client.post("/", content=chunks(), headers=h).json() for h in (plain, origin)]
    assert streamed[0] == streamed[1] and streamed[0]["error"]["code"] == -32600
    assert env.rpc.raw(bodies[-1]).json()["error"]["message"].startswith("request body too large")
    assert env.rpc.result("eth_chainId") == hex(CHAIN_ID)


# -- the dev signer ------------------------------------------------------------------------------

def test_dev_signer_fills_signs_and_sends(env):
    sender, key = ACCOUNTS[4]
    assert env.rpc.result("eth_accounts") == [a.lower() for a, _ in ACCOUNTS]
    filled = validated("eth_fillTransaction", env.rpc.result("eth_fillTransaction", {"from": sender, "to": ACCOUNTS[0][0], "value": "0x5"}))
    tx = filled["tx"]
    next_base = int(env.rpc.result("eth_baseFee"), 16)
    assert tx["type"] == "0x2" and tx["gas"] == hex(21_000) and tx["chainId"] == hex(CHAIN_ID)
    assert int(tx["maxPriorityFeePerGas"], 16) == SUGGESTED_TIP
    assert int(tx["maxFeePerGas"], 16) == 2 * next_base + SUGGESTED_TIP
    signed = validated("eth_signTransaction", env.rpc.result("eth_signTransaction", {"from": sender, "to": ACCOUNTS[0][0]}))
    assert Account.recover_transaction(signed["raw"]) == sender
    tx_hash = env.rpc.result("eth_sendTransaction", {"from": sender, "to": ACCOUNTS[0][0], "value": "0x5"})
    legacy_hash = env.rpc.result("eth_sendTransaction", {"from": sender, "to": ACCOUNTS[0][0], "gasPrice": hex(10**10)})
    env.node.produce_block()
    assert env.rpc.result("eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
    assert env.rpc.result("eth_getTransactionByHash", legacy_hash)["type"] == "0x0"
    signature = env.rpc.result("eth_sign", sender, "0x" + b"hello".hex())
    assert Account.recover_message(encode_defunct(b"hello"), signature=signature) == sender
    unknown = env.rpc.error("eth_sendTransaction", {"from": "0x" + "77" * 20, "to": sender})
    assert unknown["code"] == -32000 and "unknown account" in unknown["message"]
    revert = env.rpc.error("eth_sendTransaction", {"from": sender, "to": "0x" + REVERTER.hex(),
                                                   "data": "0x" + error_data("no send").hex()})
    assert revert["code"] == 3 and revert["message"] == "execution reverted: no send"


def test_dev_signer_off(env):
    with LiveServer(build_app(env.node, dev_signer=False)) as server:
        rpc = Rpc(server.url)
        assert rpc.result("eth_accounts") == []
        for method, params in (("eth_sendTransaction", [{"from": ACCOUNTS[0][0], "to": ACCOUNTS[1][0]}]),
                               ("eth_signTransaction", [{"from": ACCOUNTS[0][0], "to": ACCOUNTS[1][0]}]),
                               ("eth_sign", [ACCOUNTS[0][0], "0x00"])):
            error = rpc.error(method, *params)
            assert error["code"] == -32004 and "dev signer is off" in error["message"]
        # filling needs no keys
        assert rpc.result("eth_fillTransaction", {"from": ACCOUNTS[0][0], "to": ACCOUNTS[1][0]})["tx"]["nonce"]


# -- tracing -----------------------------------------------------------------------------------

def test_trace_transaction_block_and_call(env):
    trace = validated("debug_traceTransaction", env.rpc.result("debug_traceTransaction", env.hashes["log_ca"]))
    receipt = env.rpc.result("eth_getTransactionReceipt", env.hashes["log_ca"])
    assert trace["gas"] == int(receipt["gasUsed"], 16) and trace["failed"] is False
    assert [step["op"] for step in trace["structLogs"]][-2:] == ["LOG3", "STOP"]
    calls = env.rpc.result("debug_traceTransaction", env.hashes["log_ca"], {"tracer": "callTracer",
                                                                            "tracerConfig": {"withLog": True}})
    assert calls["logs"][0]["index"] == "0x1"  # the second log of block 2
    block = validated("debug_traceBlockByNumber", env.rpc.result("debug_traceBlockByNumber", "0x2"))
    assert [entry["txHash"] for entry in block] == [env.hashes["create"], env.hashes["log_ab"], env.hashes["log_ca"]]
    assert block[2]["result"] == trace
    assert env.rpc.error("debug_traceBlockByNumber", "0x0") == {"code": -32000, "message": "genesis is not traceable"}
    assert env.rpc.error("debug_traceTransaction", "0x" + "00" * 32) == {"code": -32000, "message": "transaction not found"}
    error = env.rpc.error("debug_traceTransaction", env.hashes["log_ca"], {"tracer": "noSuchTracer"})
    assert error["code"] == -32602 and "noSuchTracer" in error["message"]
    frame = env.rpc.result("debug_traceCall", {"to": "0x" + REVERTER.hex(), "data": "0x" + error_data("x").hex()},
                           "latest", {"tracer": "callTracer"})
    assert frame["error"] == "execution reverted" and frame["revertReason"] == "x"


def test_trace_call_checks_the_call_as_eth_call_does(env, monkeypatch):
    sender = ACCOUNTS[0][0]
    poor = "0x" + "66" * 20
    cases = [
        {"from": sender, "to": ACCOUNTS[1][0], "gas": "0x0"},  # intrinsic gas too low
        {"from": poor, "to": ACCOUNTS[1][0], "value": "0x1"},  # insufficient funds
        {"from": sender, "to": ACCOUNTS[1][0], "maxFeePerGas": "0x1"},  # below the base fee
        {"from": sender, "to": ACCOUNTS[1][0], "chainId": "0x1"},  # another chain
        {"from": sender, "to": ACCOUNTS[1][0], "maxFeePerGas": hex(10**10), "maxPriorityFeePerGas": hex(10**11)},
    ]
    for request in cases:
        expected = env.rpc.error("eth_call", request, "latest")
        assert env.rpc.error("debug_traceCall", request, "latest") == expected, request
    # geth's TraceCallConfig carries state and block overrides beside the tracer options.
    frame = env.rpc.result("debug_traceCall", {"from": poor, "to": ACCOUNTS[1][0], "value": "0x5"}, "latest",
                           {"tracer": "callTracer", "stateOverrides": {poor: {"balance": "0x10"}}})
    assert frame["value"] == "0x5" and "error" not in frame
    error = env.rpc.error("debug_traceCall", {"to": ACCOUNTS[1][0]}, "latest", {"stateOverrides": {poor: 5}})
    assert error["code"] == -32602 and "invalid argument 2" in error["message"]
    # A struct log past the node's cap (no "limit" given) is an error, not gigabytes.
    loop = {"from": sender, "to": poor, "gas": hex(1_000_000)}
    overrides = {"stateOverrides": {poor: {"code": "0x5b600056"}}}  # JUMPDEST PUSH1 0 JUMP, forever
    monkeypatch.setattr(tracing, "MAX_STRUCT_LOGS", 50)
    error = env.rpc.error("debug_traceCall", loop, "latest", overrides)
    assert error["code"] == -32000 and "exceeds 50 steps" in error["message"]
    limited = env.rpc.result("debug_traceCall", loop, "latest", {**overrides, "limit": 10})
    assert len(limited["structLogs"]) == 10 and limited["failed"] is True


def test_dev_signer_refuses_what_it_cannot_sign(env):
    sender, to = ACCOUNTS[5][0], ACCOUNTS[0][0]
    for request, words in (({"from": sender, "to": to, "type": "0x4"}, "non-empty authorizationList"),
                           ({"from": sender, "type": "0x4", "authorizationList": [
                               {"chainId": "0x0", "address": to, "nonce": "0x0", "yParity": "0x0", "r": "0x1", "s": "0x1"}]},
                            "needs a `to` address"),
                           ({"from": sender, "to": to, "authorizationList": [
                               {"chainId": "0x0", "address": to, "nonce": "0x0", "yParity": "0x5", "r": "0x1", "s": "0x1"}]},
                            "cannot sign it")):
        for method in ("eth_signTransaction", "eth_sendTransaction"):
            error = env.rpc.error(method, request)
            assert error["code"] == -32602 and words in error["message"], (method, request, error)


# -- robustness --------------------------------------------------------------------------------

def test_internal_errors_are_answered_and_the_server_keeps_serving(env, monkeypatch):
    def broken_head():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(env.chain, "head", broken_head)
    error = env.rpc.error("eth_blockNumber")
    assert error["code"] == -32603 and "RuntimeError: disk on fire" in error["message"]
    monkeypatch.undo()
    assert int(env.rpc.result("eth_blockNumber"), 16) >= 2


def test_configured_origins_only(env):
    with LiveServer(build_app(env.node, cors_origins=("https://dapp.example",))) as server:
        client = httpx.Client(base_url=server.url)
        allowed = client.options("/", headers={"Origin": "https://dapp.example", "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "content-type"})
        assert allowed.headers["access-control-allow-origin"] == "https://dapp.example"
        other = client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                            headers={"Origin": "https://evil.example"})
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
        with pytest.raises(InvalidStatus):
            connect(server.ws_url, origin="https://evil.example", open_timeout=30)
        with connect(server.ws_url, origin="https://dapp.example", open_timeout=30) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            assert json.loads(ws.recv(timeout=30))["result"] == hex(CHAIN_ID)


def test_calls_stop_at_the_evm_timeout(env, monkeypatch):
    """A loop burning the 50M gas cap took py-evm ~30 s; geth stops calls after
    `--rpc.evmtimeout` (5 s) with "execution aborted". The timeout is shortened here."""
    monkeypatch.setattr(execution, "RPC_EVM_TIMEOUT", 0.2)
    looper = "0x" + "67" * 20
    overrides = {looper: {"code": "0x5b600056"}}  # JUMPDEST PUSH1 0 JUMP, forever
    request = {"from": ACCOUNTS[0][0], "to": looper}
    expected = {"code": -32000, "message": "execution aborted (timeout = 0.2s)"}
    assert env.rpc.error("eth_call", request, "latest", overrides) == expected
    assert env.rpc.error("eth_estimateGas", request, "latest", overrides) == expected
    assert env.rpc.error("debug_traceCall", request, "latest", {"stateOverrides": overrides, "limit": 5}) == expected
    simulated = env.rpc.error("eth_simulateV1", {"blockStateCalls": [{"stateOverrides": overrides, "calls": [request]}]},
                              "latest")
    assert simulated == expected
    # A call that ends in time is not affected.
    assert env.rpc.result("eth_call", {"to": "0x" + LOGGER.hex(), "data": "0x" + (TOPIC_A * 3).hex()}) == "0x"
    # A batch's calls run one after another: they share one budget besides their own timeouts.
    monkeypatch.setattr(dispatch, "BATCH_EVM_BUDGET", 0.5)
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [request, "latest", overrides]} for i in range(8)]
    answers = env.rpc.raw(batch).json()
    messages = [a["error"]["message"] for a in answers]
    spent = "execution aborted (the execution time of this batch is spent)"
    # Each call stops at its own 0.2 s until the batch's 0.5 s are gone; then every call stops at once.
    own = messages.index(spent)
    assert 1 <= own <= 3 and messages[:own] == [expected["message"]] * own and messages[own:] == [spent] * (8 - own)
    assert all(a["error"]["code"] == -32000 for a in answers)
