"""MetaMask's request sequence against a custom network (shared/spec/rpc.md), replayed with
plain HTTP: add the network, read balances at block numbers, send a transfer priced by
eth_gasPrice alone, watch for the receipt, and the browser's CORS preflight."""

from __future__ import annotations

import time

import httpx
import pytest
from eth_account import Account

ORIGIN = "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn"


class Wallet:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30, headers={"Origin": ORIGIN})
        self.next_id = 0

    def call(self, method: str, *params):
        self.next_id += 1
        resp = self.client.post("/", json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)})
        assert resp.status_code == 200, f"{method}: HTTP {resp.status_code}"
        body = resp.json()
        assert body["id"] == self.next_id
        return body


def result(body):
    assert "error" not in body, body
    return body["result"]


@pytest.fixture(scope="module")
def wallet(dev_node):
    return Wallet(dev_node.url)


def test_add_network(wallet, dev_node):
    assert int(result(wallet.call("eth_chainId")), 16) == dev_node.chain_id
    assert result(wallet.call("net_version")) == str(dev_node.chain_id)
    latest = result(wallet.call("eth_getBlockByNumber", "latest", False))
    assert "baseFeePerGas" in latest, "MetaMask marks a network EIP-1559 by baseFeePerGas"


def test_cors_preflight(wallet):
    resp = wallet.client.options("/", headers={"Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "content-type"})
    assert resp.status_code in (200, 204)
    assert resp.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert "content-type" in resp.headers.get("access-control-allow-headers", "").lower()


def test_send_transfer_like_metamask(wallet, dev_node):
    sender, key = dev_node.accounts[4]
    recipient = Account.create().address
    # balances polled at the hex block number MetaMask substitutes for "latest"
    number = result(wallet.call("eth_blockNumber"))
    balance_before = int(result(wallet.call("eth_getBalance", sender, number)), 16)
    assert balance_before > 0
    latest = result(wallet.call("eth_getBlockByNumber", "latest", False))
    assert int(latest["gasLimit"], 16) >= 30_000_000
    assert result(wallet.call("eth_getCode", recipient, number)) == "0x"
    tx = {"from": sender, "to": recipient, "value": hex(10**18)}
    gas = int(result(wallet.call("eth_estimateGas", tx)), 16)
    assert gas == 21000
    gas_price = int(result(wallet.call("eth_gasPrice")), 16)
    nonce = int(result(wallet.call("eth_getTransactionCount", sender, number)), 16)
    signed = Account.sign_transaction({
        "type": 2, "chainId": dev_node.chain_id, "nonce": nonce, "to": recipient, "value": 10**18, "gas": gas,
        "maxFeePerGas": gas_price, "maxPriorityFeePerGas": gas_price}, key)
    tx_hash = result(wallet.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()))
    assert tx_hash == "0x" + signed.hash.hex()
    receipt = None
    deadline = time.monotonic() + 30
    while receipt is None and time.monotonic() < deadline:
        wallet.call("eth_blockNumber")
        receipt = result(wallet.call("eth_getTransactionReceipt", tx_hash))
        time.sleep(0.2)
    assert receipt is not None, "a transfer priced by eth_gasPrice alone must be included"
    assert receipt["status"] == "0x1" and receipt["blockHash"] and receipt["blockNumber"]
    block = result(wallet.call("eth_getBlockByHash", receipt["blockHash"], False))
    assert tx_hash in block["transactions"]
    after = receipt["blockNumber"]
    assert int(result(wallet.call("eth_getBalance", recipient, after)), 16) == 10**18
    assert int(result(wallet.call("eth_getBalance", recipient, number)), 16) == 0
    assert int(result(wallet.call("eth_getTransactionCount", sender, after)), 16) == nonce + 1
    spent = balance_before - int(result(wallet.call("eth_getBalance", sender, after)), 16)
    assert spent == 10**18 + int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)


def test_failed_estimate_gives_revert_and_node_keeps_serving(wallet, dev_node):
    # A call into a contract creation that reverts: MetaMask shows the error and falls back.
    body = wallet.call("eth_estimateGas", {"from": dev_node.accounts[4][0], "data": "0x60006000fd"})
    assert body["error"]["code"] == 3 and body["error"]["message"].startswith("execution reverted")
    assert result(wallet.call("eth_chainId"))
