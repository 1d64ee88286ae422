"""ethers v6 and viem 2.x against a running dev node.

Each client runs its node script in `tests/js/` once per module (`npm ci` in `tests/js`
installs the pinned libraries): chain id, sender balance, an EIP-1559 transfer to a fresh
address, deploying `tests/js/Probe.sol`, a read, a write whose event is parsed from the
receipt, and a call and a transaction that revert with "nope". The scripts print one JSON
object per step; the tests below assert on those and cross-check the node's state with
plain JSON-RPC requests of their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_utils import keccak

from tests.compile import SOLC, solidity

JS_DIR = Path(__file__).resolve().parent / "js"
PROBE_SOL = JS_DIR / "Probe.sol"
STEPS = ["chain_id", "balance", "transfer", "deploy", "read", "write",
         "revert_call", "revert_send", "final_balance"]
VALUE_CHANGED_TOPIC = "0x" + keccak(text="ValueChanged(address,uint256)").hex()
ERROR_STRING_SELECTOR = "0x08c379a0"  # Error(string)
SCRIPT_TIMEOUT_S = 300

pytestmark = pytest.mark.skipif(not SOLC.exists(), reason="tools/solc/bin/solc missing: run `make test`, which installs it")


@dataclass(frozen=True)
class Client:
    """One JavaScript client: its script, its dev account and the values it sends."""

    name: str
    script: str
    account_index: int
    transfer_wei: int
    set_value: int
    eip1559_type: object  # how the library spells the type-2 transaction type


CLIENTS = [
    Client("ethers", "ethers_check.mjs", account_index=7, transfer_wei=1_234_567_000_000_007,
           set_value=8_701_337_007, eip1559_type=2),
    Client("viem", "viem_check.mjs", account_index=8, transfer_wei=2_345_678_000_000_008,
           set_value=8_701_337_008, eip1559_type="eip1559"),
]


@dataclass
class ClientRun:
    """The outcome of one script run: its steps by name, exit status and stderr."""

    client: Client
    sender: str
    steps: dict[str, dict]
    order: list[str]
    returncode: int
    stderr: str

    def step(self, name: str) -> dict:
        """The facts of step `name`; fails the test if the script failed there or before."""
        facts = self.steps.get(name)
        if facts is None:
            failed = next((f for f in self.steps.values() if not f["ok"]), None)
            where = f"it failed at {failed['step']!r}: {failed['error']}" if failed else "no failing step was printed"
            pytest.fail(f"{self.client.script} never reached step {name!r}; {where}\nstderr:\n{self.stderr}")
        if not facts["ok"]:
            pytest.fail(f"{self.client.script} step {name!r} failed: {facts['error']}\nstderr:\n{self.stderr}")
        return facts


def rpc(url: str, method: str, *params):
    """The `result` of one JSON-RPC request; raises AssertionError on a JSON-RPC error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    assert "error" not in reply, f"{method}{list(params)} failed: {reply['error']}"
    return reply["result"]


@pytest.fixture(scope="module")
def probe_artifact(tmp_path_factory) -> Path:
    """`Probe.sol` compiled with the project's solc, as {"abi", "bytecode"} JSON."""
    abi, bytecode = solidity(PROBE_SOL.read_text(), "Probe")
    path = tmp_path_factory.mktemp("probe") / "Probe.json"
    path.write_text(json.dumps({"abi": abi, "bytecode": bytecode}))
    return path


@pytest.fixture(scope="module", params=CLIENTS, ids=[c.name for c in CLIENTS])
def run(request, dev_node, probe_artifact) -> ClientRun:
    """Run one client's script once against the dev node and parse its JSON lines."""
    client: Client = request.param
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` (Node.js 20) is not on PATH")
    if not (JS_DIR / "node_modules" / client.name).is_dir():
        pytest.fail(f"{client.name} is not installed in {JS_DIR}: run `npm ci` there (`make test` does)")
    sender, key = dev_node.accounts[client.account_index]
    proc = subprocess.run(
        [node, client.script, "--rpc-url", dev_node.url, "--chain-id", str(dev_node.chain_id),
         "--private-key", key, "--artifact", str(probe_artifact),
         "--transfer-wei", str(client.transfer_wei), "--set-value", str(client.set_value)],
        cwd=JS_DIR, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
    steps: dict[str, dict] = {}
    order: list[str] = []
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue  # a library's own console output
        facts = json.loads(line)
        steps[facts["step"]] = facts
        order.append(facts["step"])
    return ClientRun(client, sender, steps, order, proc.returncode, proc.stderr)


def test_script_runs_every_step(run):
    assert run.returncode == 0, f"{run.client.script} exited {run.returncode}:\n{run.stderr}"
    assert run.order == STEPS
    assert all(run.steps[name]["ok"] for name in STEPS)


def test_chain_id(run, dev_node):
    assert run.step("chain_id")["chainId"] == dev_node.chain_id


def test_sender_balance(run):
    facts = run.step("balance")
    assert facts["address"].lower() == run.sender.lower()
    assert int(facts["balance"]) > run.client.transfer_wei


def test_eip1559_transfer_to_fresh_address(run, dev_node):
    facts = run.step("transfer")
    assert facts["status"] == 1
    assert facts["type"] == facts["minedType"] == run.client.eip1559_type
    assert int(facts["recipientBalanceBefore"]) == 0
    assert int(facts["value"]) == run.client.transfer_wei
    assert int(facts["recipientBalance"]) == run.client.transfer_wei
    assert int(facts["maxFeePerGas"]) >= int(facts["effectiveGasPrice"]) > 0
    assert int(facts["gasUsed"]) == 21_000
    # The node, asked directly, agrees.
    receipt = rpc(dev_node.url, "eth_getTransactionReceipt", facts["hash"])
    assert receipt["status"] == "0x1" and receipt["type"] == "0x2"
    assert receipt["from"].lower() == run.sender.lower()
    assert receipt["to"].lower() == facts["recipient"].lower()
    assert int(rpc(dev_node.url, "eth_getBalance", facts["recipient"], "latest"), 16) == run.client.transfer_wei


def test_deploy(run, dev_node):
    facts = run.step("deploy")
    assert facts["status"] == 1
    code = rpc(dev_node.url, "eth_getCode", facts["address"], "latest")
    assert facts["codeSize"] == (len(code) - 2) // 2 > 0
    receipt = rpc(dev_node.url, "eth_getTransactionReceipt", facts["hash"])
    assert receipt["contractAddress"].lower() == facts["address"].lower()
    assert receipt["to"] is None


def test_read_initial_value(run):
    run.step("deploy")
    assert run.step("read")["value"] == "0"


def test_write_emits_parsed_event(run, dev_node):
    facts = run.step("write")
    assert facts["status"] == 1
    assert facts["logCount"] == 1
    event = facts["event"]
    assert event["name"] == "ValueChanged"
    assert event["who"].lower() == run.sender.lower()
    assert int(event["value"]) == run.client.set_value
    assert int(facts["readBack"]) == run.client.set_value
    # The same log through eth_getLogs, by address, block and indexed sender.
    contract = run.step("deploy")["address"]
    block = hex(facts["blockNumber"])
    logs = rpc(dev_node.url, "eth_getLogs", {
        "address": contract, "fromBlock": block, "toBlock": block,
        "topics": [VALUE_CHANGED_TOPIC, "0x" + run.sender.lower()[2:].rjust(64, "0")]})
    assert [log["transactionHash"] for log in logs] == [facts["hash"]]
    assert int(logs[0]["data"], 16) == run.client.set_value


@pytest.mark.parametrize("step", ["revert_call", "revert_send"])
def test_revert_reason_is_surfaced(run, step):
    facts = run.step(step)
    assert facts["reason"] == "nope"
    assert facts["revertName"] == "Error"
    assert facts["data"].startswith(ERROR_STRING_SELECTOR)
    assert "nope" in facts["shortMessage"]
    if run.client.name == "viem":
        assert facts["errorName"] == "ContractFunctionExecutionError"


@pytest.mark.parametrize(("step", "methods"), [("revert_call", ("eth_call",)),
                                               ("revert_send", ("eth_estimateGas", "eth_fillTransaction"))])
def test_revert_is_not_retried(run, step, methods):
    """A revert must come back as JSON-RPC error code 3; viem retries -32603 (internal error).

    Sending a reverting transaction fails at whichever method the client fills it with:
    ethers estimates gas; viem 2.57 asks eth_fillTransaction first, which the node serves."""
    requests = run.step(step)["requests"]
    sent = sum(requests.get(m, 0) for m in methods)
    assert sent == 1, f"{run.client.name} sent {methods} {sent} times in all: {requests}"


def test_sender_paid_for_everything(run, dev_node):
    facts = run.step("final_balance")
    assert int(run.step("balance")["balance"]) - int(facts["balance"]) > run.client.transfer_wei
    assert int(rpc(dev_node.url, "eth_getBalance", run.sender, hex(facts["blockNumber"])), 16) == int(facts["balance"])
