"""The registry ape scripts end to end (issue 5, "One ape script run"): scripts/register_auto_id.py,
attest_score.py, fund_round.py and register_agent.py run with `ape run` against a dev node the
test starts, their printed ids and transactions checked on chain through JSON-RPC.

The project is copied to a temporary folder (as tests/test_ape.py does) whose ape-config points
the `autonomys-dev` network at the test node's port, with ape's data in a throw-away home. The
node starts while ape compiles. Scripts that send from dev account 0 (governance) run one after
another; register_agent (account 6 only) runs twice beside them, the second run showing that a
script can be run again on the same network (each names what it puts on chain with a random
part).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from tests.conftest import NodeProcess, rpc
from tests.test_compilers import BIN_DIR, ROOT, ape_env, ape_project_copy

NETWORK = ("--network", "ethereum:autonomys-dev:node")
AUTO_ID = "0xA070000000000000000000000000000000000001"
AUTO_SCORE = "0xa070000000000000000000000000000000000002"
DATA_COMPENSATION = "0xA070000000000000000000000000000000000003"
AGENT_REGISTRY = "0xA070000000000000000000000000000000000004"
DEV_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
HASH = r"(0x[0-9a-f]{64})"
ADDRESS = r"(0x[0-9a-fA-F]{40})"


def run_ape(project, env, *args) -> str:
    result = subprocess.run([BIN_DIR / "ape", *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"ape {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def field(out: str, label: str, pattern: str = r"(.*)") -> list[str]:
    """The first group of `pattern` on every `label: …` line the script printed."""
    found = re.findall(rf"^{re.escape(label)}:\s+{pattern}", out, re.M)
    assert found, f"no {label!r} line in:\n{out}"
    return found


def eth_call(url: str, to: str, signature: str, arg_types: list[str], args: list, out_types: list[str]):
    data = function_signature_to_4byte_selector(signature) + encode(arg_types, args)
    response = rpc(url, "eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
    assert "result" in response, response
    values = decode(out_types, bytes.fromhex(response["result"][2:]))
    return values[0] if len(values) == 1 else values


def succeeded(url: str, tx_hash: str) -> dict:
    receipt = rpc(url, "eth_getTransactionReceipt", [tx_hash])["result"]
    assert receipt is not None and receipt["status"] == "0x1", (tx_hash, receipt)
    return receipt


def test_registry_scripts_against_a_dev_node(tmp_path):
    env = ape_env(tmp_path)
    project = ape_project_copy(tmp_path)
    shutil.copytree(ROOT / "scripts", project / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    node = NodeProcess(base_path=tmp_path / "node")
    config = project / "ape-config.yaml"
    config.write_text(config.read_text().replace("http://127.0.0.1:8545", node.url))

    compiling = subprocess.Popen([BIN_DIR / "ape", "compile"], cwd=project, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
    try:
        node.start()
        compiled, _ = compiling.communicate(timeout=600)
        assert compiling.returncode == 0, compiled
        url = node.url
        with ThreadPoolExecutor(max_workers=1) as pool:
            agent_runs = pool.submit(lambda: [run_ape(project, env, "run", "register_agent", *NETWORK)
                                              for _ in range(2)])
            auto_id_out = run_ape(project, env, "run", "register_auto_id", *NETWORK)
            score_out = run_ape(project, env, "run", "attest_score", *NETWORK)
            fund_out = run_ape(project, env, "run", "fund_round", *NETWORK)
            agent_outs = agent_runs.result()

        # register_auto_id: a new Auto ID, active, with dev account 0 as its controller
        [auto_id] = field(auto_id_out, "auto id", HASH)
        for label in ("auto id register tx", "auto id link tx"):
            succeeded(url, field(auto_id_out, label, HASH)[0])
        assert eth_call(url, AUTO_ID, "isActive(bytes32)", ["bytes32"], [bytes.fromhex(auto_id[2:])], ["bool"])
        assert eth_call(url, AUTO_ID, "isController(bytes32,address)", ["bytes32", "address"],
                        [bytes.fromhex(auto_id[2:]), DEV_ACCOUNT_0], ["bool"])
        assert (project / field(auto_id_out, "key")[0]).is_file()

        # attest_score: the subject's score is the claim type's weight; the verifier is admitted
        [subject] = field(score_out, "subject", HASH)
        [verifier] = field(score_out, "verifier", HASH)
        succeeded(url, field(score_out, "attest tx", HASH)[0])
        assert field(score_out, "score", r"(\d+)") == ["40"]
        assert eth_call(url, AUTO_SCORE, "score(bytes32)", ["bytes32"], [bytes.fromhex(subject[2:])], ["uint256"]) == 40
        assert eth_call(url, AUTO_SCORE, "isVerifier(bytes32)", ["bytes32"], [bytes.fromhex(verifier[2:])], ["bool"])

        # fund_round: shares + dust = the funded amount; the contributor withdrew its share
        [round_id, funded] = field(fund_out, "round", r"(\d+) funded with (\d+) wei")[0]
        shares = [int(s) for s in field(fund_out, "share", r"contribution \d+ weight \d+: (\d+) wei")]
        [dust] = field(fund_out, "dust", r"(\d+) wei")
        assert sum(shares) + int(dust) == int(funded) == 10**18 + 1 and int(dust) == 1
        [withdrawn, contributor] = field(fund_out, "withdrawn", rf"(\d+) wei to {ADDRESS}")[0]
        assert int(withdrawn) == sum(shares)
        receipt = succeeded(url, field(fund_out, "withdraw tx", HASH)[0])
        assert any(log["address"].lower() == DATA_COMPENSATION.lower() for log in receipt["logs"])
        assert eth_call(url, DATA_COMPENSATION, "owed(address)", ["address"], [contributor], ["uint256"]) == 0
        # getRound: (funder, valuer, consumerId, amount, fundedAt, status, totalWeight, dust); status 2 = Valued
        round_ = eth_call(url, DATA_COMPENSATION, "getRound(uint256)", ["uint256"], [int(round_id)],
                          ["(address,address,bytes32,uint128,uint64,uint8,uint256,uint256)"])
        assert (round_[3], round_[5], round_[6], round_[7]) == (10**18 + 1, 2, 3, 1)

        # register_agent, twice: two agents, each allowed within its budget and not above it
        agents = [field(out, "agent", ADDRESS)[0] for out in agent_outs]
        assert len(set(agents)) == 2
        selector = function_signature_to_4byte_selector("fundRound(bytes32,address,uint256[])")
        types = ["address", "address", "bytes4", "uint256"]
        for out, agent in zip(agent_outs, agents):
            succeeded(url, field(out, "registerAgent tx", HASH)[0])
            succeeded(url, field(out, "grantPermission tx", HASH)[0])
            assert field(out, "isAllowed", r"(\w+)") == ["True"]
            assert eth_call(url, AGENT_REGISTRY, "isAllowed(address,address,bytes4,uint256)", types,
                            [agent, DATA_COMPENSATION, selector, 10**17], ["bool"])
            assert not eth_call(url, AGENT_REGISTRY, "isAllowed(address,address,bytes4,uint256)", types,
                                [agent, DATA_COMPENSATION, selector, 10**18 + 1], ["bool"])
    finally:
        if compiling.poll() is None:
            compiling.kill()
            compiling.wait()
        node.stop()
