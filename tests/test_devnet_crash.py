"""kill -9 at random points of the consensus-driven dev network, in a loop: every transaction
receipt a client saw before a kill is there, unchanged, after the restart; the chain keeps
going; and every transaction sent is eventually included (waiting ones are journaled)."""

from __future__ import annotations

import random
import time

from eth_account import Account

from tests.conftest import NodeProcess, rpc

ROUNDS = 10
KEY = "0x" + "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"  # dev account 5


def result(url, method, *params):
    body = rpc(url, method, list(params))
    assert "error" not in body, body
    return body["result"]


def test_kill_9_loop_loses_nothing_reported(tmp_path):
    rng = random.Random(20261125)
    node = NodeProcess(base_path=tmp_path / "node")
    recipient = Account.create().address
    seen: dict[str, dict] = {}
    sent: list[str] = []
    consensus_best = 0
    try:
        for round_ in range(ROUNDS):
            node.start()
            for tx_hash, receipt in seen.items():
                assert result(node.url, "eth_getTransactionReceipt", tx_hash) == receipt, (round_, tx_hash)
            best = int(result(node.url, "chain_getHeader")["number"], 16)
            assert best >= consensus_best, f"round {round_}: consensus best went back from {consensus_best} to {best}"
            consensus_best = best

            chain_id = int(result(node.url, "eth_chainId"), 16)
            nonce = int(result(node.url, "eth_getTransactionCount", Account.from_key(KEY).address, "pending"), 16)
            gas_price = int(result(node.url, "eth_gasPrice"), 16)
            for i in range(3):
                signed = Account.sign_transaction({"chainId": chain_id, "nonce": nonce + i, "to": recipient,
                                                   "value": 1, "gas": 21000, "gasPrice": gas_price}, KEY)
                sent.append(result(node.url, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()))
            kill_at = time.monotonic() + rng.uniform(0.0, 2.5)
            while time.monotonic() < kill_at:
                for tx_hash in sent:
                    if tx_hash not in seen:
                        receipt = result(node.url, "eth_getTransactionReceipt", tx_hash)
                        if receipt is not None:
                            seen[tx_hash] = receipt
                time.sleep(0.05)
            node.kill()

        node.start()
        deadline = time.monotonic() + 60
        while len(seen) < len(sent) and time.monotonic() < deadline:
            for tx_hash in sent:
                if tx_hash not in seen:
                    receipt = result(node.url, "eth_getTransactionReceipt", tx_hash)
                    if receipt is not None:
                        seen[tx_hash] = receipt
            time.sleep(0.1)
        assert len(seen) == len(sent), f"{len(sent) - len(seen)} of {len(sent)} transactions never included"
        assert all(r["status"] == "0x1" for r in seen.values())
        assert int(result(node.url, "eth_getBalance", recipient, "latest"), 16) == len(sent)
    finally:
        node.kill()
