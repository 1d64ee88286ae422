"""Stop a node (kill -9 and Ctrl-C), start it again, and find everything as it was."""

from __future__ import annotations

import time

from eth_account import Account

from tests.conftest import NodeProcess, rpc


def result(url, method, *params):
    body = rpc(url, method, list(params))
    assert "error" not in body, body
    return body["result"]


def send_transfers(url, key, recipient, count, chain_id):
    sender = Account.from_key(key).address
    nonce = int(result(url, "eth_getTransactionCount", sender, "pending"), 16)
    gas_price = int(result(url, "eth_gasPrice"), 16)
    hashes = []
    for i in range(count):
        signed = Account.sign_transaction({"chainId": chain_id, "nonce": nonce + i, "to": recipient, "value": 1000 + i,
                                           "gas": 21000, "gasPrice": gas_price}, key)
        hashes.append(result(url, "eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()))
    return hashes


def wait_receipts(url, hashes, timeout=60):
    deadline = time.monotonic() + timeout
    receipts = {}
    while len(receipts) < len(hashes) and time.monotonic() < deadline:
        for h in hashes:
            if h not in receipts:
                r = result(url, "eth_getTransactionReceipt", h)
                if r is not None:
                    receipts[h] = r
        time.sleep(0.1)
    assert len(receipts) == len(hashes), f"only {len(receipts)}/{len(hashes)} receipts"
    return receipts


def snapshot(url, hashes, accounts, head=None):
    """Everything a client can see about the chain up to block `head` (default: the current
    head), for comparing before and after. The chain keeps moving while this runs (the
    operator adds empty domain blocks while receipts are in their challenge period), so every
    query is pinned to `head`."""
    head = int(result(url, "eth_blockNumber"), 16) if head is None else head
    return {
        "head": head,
        "blocks": [result(url, "eth_getBlockByNumber", hex(n), True) for n in range(head + 1)],
        "receipts": {h: result(url, "eth_getTransactionReceipt", h) for h in hashes},
        "balances": {a: result(url, "eth_getBalance", a, hex(head)) for a in accounts},
        "logs": result(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(head)}),
    }


def test_kill_9_and_ctrl_c_keep_every_block_receipt_and_balance(tmp_path):
    node = NodeProcess(base_path=tmp_path / "node").start()
    key = "0x" + "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # dev account 1
    chain_id = int(result(node.url, "eth_chainId"), 16)
    recipient = Account.create().address
    accounts = [Account.from_key(key).address, recipient]
    try:
        hashes = send_transfers(node.url, key, recipient, 20, chain_id)
        wait_receipts(node.url, hashes)
        before = snapshot(node.url, hashes, accounts)
        assert before["head"] >= 1
        node.kill()  # kill -9

        node.start()
        assert int(result(node.url, "eth_blockNumber"), 16) >= before["head"]  # the head resumed
        after = snapshot(node.url, hashes, accounts, head=before["head"])
        assert after == before

        # and it keeps producing on top of what it had
        more = send_transfers(node.url, key, recipient, 5, chain_id)
        wait_receipts(node.url, more)
        node.stop()  # Ctrl-C
        assert node.proc.returncode is not None

        node.start()
        final = snapshot(node.url, hashes + more, accounts)
        assert final["head"] > before["head"]
        assert final["blocks"][: before["head"] + 1] == before["blocks"]
        assert int(final["balances"][recipient], 16) == sum(1000 + i for i in range(20)) + sum(1000 + i for i in range(5))
    finally:
        node.kill()


def test_kill_9_during_load_loses_no_reported_block(tmp_path):
    """Kill the node while blocks are being sealed: every receipt a client saw survives."""
    node = NodeProcess(base_path=tmp_path / "node").start()
    key = "0x" + "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # dev account 2
    chain_id = int(result(node.url, "eth_chainId"), 16)
    recipient = Account.create().address
    try:
        hashes = send_transfers(node.url, key, recipient, 60, chain_id)
        seen = {}
        deadline = time.monotonic() + 30
        while len(seen) < 10 and time.monotonic() < deadline:
            for h in hashes:
                r = result(node.url, "eth_getTransactionReceipt", h)
                if r is not None:
                    seen[h] = r
        node.kill()
        assert seen, "no receipt seen before the kill"
        node.start()
        for h, receipt in seen.items():
            assert result(node.url, "eth_getTransactionReceipt", h) == receipt
    finally:
        node.kill()


def test_rpc_command_serves_a_data_directory_without_producing_blocks(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port

    node = NodeProcess(base_path=tmp_path / "node").start()
    key = "0x" + "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # dev account 3
    chain_id = int(result(node.url, "eth_chainId"), 16)
    hashes = send_transfers(node.url, key, Account.create().address, 3, chain_id)
    receipts = wait_receipts(node.url, hashes)
    head = result(node.url, "eth_getBlockByNumber", "latest", False)
    node.stop()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "domains.cli", "rpc", "--base-path", str(tmp_path / "node"),
                             "--rpc-port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                result(url, "eth_chainId")
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "rpc command did not start"
                time.sleep(0.1)
        # the operator may have added empty domain blocks (confirming receipts) before the stop
        served_head = result(url, "eth_getBlockByNumber", "latest", False)
        assert int(served_head["number"], 16) >= int(head["number"], 16)
        assert result(url, "eth_getBlockByNumber", head["number"], False) == head
        for h, receipt in receipts.items():
            assert result(url, "eth_getTransactionReceipt", h) == receipt
        # no dev signer, and transactions are refused, not held forever
        assert result(url, "eth_accounts") == []
        signed = Account.sign_transaction({"chainId": chain_id, "nonce": 3, "to": Account.create().address,
                                           "value": 1, "gas": 21000, "gasPrice": 10**10}, key)
        refused = rpc(url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
        assert refused["error"]["code"] == -32000 and "without producing blocks" in refused["error"]["message"]
        assert result(url, "eth_getBlockByNumber", "latest", False) == served_head
    finally:
        proc.kill()
        proc.wait()


def test_waiting_transactions_survive_kill_9(tmp_path):
    """Transactions admitted but not yet sealed are journaled: a kill -9 before the block
    comes does not lose them; the restarted node seals them."""
    node = NodeProcess(base_path=tmp_path / "node", extra_args=["--no-operator"]).start()  # no bundles: they wait
    key = "0x" + "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # dev account 4
    chain_id = int(result(node.url, "eth_chainId"), 16)
    try:
        hashes = send_transfers(node.url, key, Account.create().address, 5, chain_id)
        assert int(result(node.url, "txpool_status")["pending"], 16) == 5
        node.kill()
        node.extra_args = []
        node.start()
        receipts = wait_receipts(node.url, hashes)
        assert all(r["status"] == "0x1" for r in receipts.values())
    finally:
        node.kill()
