"""The registries predeployed in a domain genesis (domains/evm/predeploys.py, genesis.py).

A fresh dev genesis has the four registries' code at their fixed addresses with the storage
their constructors wrote; a geth-style genesis.json gets them unless it says
`"autonomysPredeploys": false`; compiled artifacts are cached and reused (counted, not timed),
and rebuilt when a source changes.
"""

from __future__ import annotations

import shutil

import pytest
from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_canonical_address

from domains.evm import predeploys
from domains.evm.chain import DomainChain
from domains.evm.execution import CallRequest, call
from domains.evm.genesis import GenesisError, dev_accounts, dev_genesis, parse_genesis_json
from domains.evm.predeploys import PREDEPLOYS, predeploy_addresses, predeploy_alloc

GOVERNANCE = dev_accounts()[0][0]
EXPECTED = {
    "AutoId": "0xA070000000000000000000000000000000000001",
    "AutoScore": "0xA070000000000000000000000000000000000002",
    "DataCompensation": "0xA070000000000000000000000000000000000003",
    "AgentRegistry": "0xA070000000000000000000000000000000000004",
}


def test_the_addresses_are_the_documented_ones():
    assert {k: v.lower() for k, v in predeploy_addresses().items()} == {k: v.lower() for k, v in EXPECTED.items()}
    assert predeploys.DEV_GOVERNANCE.lower() == GOVERNANCE.lower()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    # every registry is required here: a missing or broken source fails the test, not a skip
    alloc = predeploy_alloc(chain_id=8_701_337, missing="error")
    assert {to_canonical_address(a) for a in EXPECTED.values()} <= set(alloc)
    c = DomainChain.create(tmp_path_factory.mktemp("predeploys") / "d", dev_genesis())
    yield c
    c.close()


def view(chain: DomainChain, address: str, signature: str, out_type: str):
    data = function_signature_to_4byte_selector(signature)
    result = call(chain, CallRequest.from_json({"to": address, "input": "0x" + data.hex()}), chain.head())
    assert result.error is None, (signature, result.error, result.revert)
    return decode([out_type], result.output)[0]


def test_a_fresh_dev_genesis_has_the_code_at_the_four_addresses(chain):
    state = chain.state_at(chain.head())
    for name, address in EXPECTED.items():
        code = state.get_code(to_canonical_address(address))
        assert len(code) > 100, name
        assert state.get_nonce(to_canonical_address(address)) == 1, name
    # the funded dev accounts are still there
    assert state.get_balance(to_canonical_address(GOVERNANCE)) > 0


def test_the_constructor_state_is_there(chain):
    auto_id, auto_score = EXPECTED["AutoId"], EXPECTED["AutoScore"]
    assert view(chain, auto_score, "governance()", "address").lower() == GOVERNANCE.lower()
    assert view(chain, auto_score, "autoId()", "address").lower() == auto_id.lower()
    compensation = EXPECTED["DataCompensation"]
    assert view(chain, compensation, "governance()", "address").lower() == GOVERNANCE.lower()
    assert view(chain, compensation, "autoId()", "address").lower() == auto_id.lower()
    assert view(chain, EXPECTED["AgentRegistry"], "autoId()", "address").lower() == auto_id.lower()
    # storage the constructor wrote is in the genesis state (AutoScore keeps governance in slot 0)
    state = chain.state_at(chain.head())
    assert state.get_storage(to_canonical_address(auto_score), 0) == int(GOVERNANCE, 16)


def test_a_bare_genesis_on_request():
    alloc = dev_genesis(predeploys=False).alloc
    assert len(alloc) == 10
    assert all(not account["code"] for account in alloc.values())


def test_geth_genesis_json_gets_them_unless_it_says_otherwise():
    data = {"config": {"chainId": 4242, "mergeNetsplitBlock": 0, "shanghaiTime": 0, "cancunTime": 0,
                       "pragueTime": 0, "terminalTotalDifficulty": 0},
            "gasLimit": "0x1c9c380", "difficulty": "0x0",
            "alloc": {"0x" + "22" * 20: {"balance": "0x1"}}}
    with_them = parse_genesis_json(data).alloc
    assert all(to_canonical_address(a) in with_them for a in EXPECTED.values())
    assert with_them[to_canonical_address("0x" + "22" * 20)]["balance"] == 1
    without = parse_genesis_json({**data, "autonomysPredeploys": False}).alloc
    assert set(without) == {to_canonical_address("0x" + "22" * 20)}
    other = "0x" + "33" * 20
    governed = parse_genesis_json({**data, "autonomysPredeploys": {"governance": other}}).alloc
    storage = governed[to_canonical_address(EXPECTED["AutoScore"])]["storage"]
    assert storage[0] == int(other, 16)
    with pytest.raises(GenesisError, match="autonomysPredeploys"):
        parse_genesis_json({**data, "autonomysPredeploys": "yes"})
    # a pre-Cancun genesis cannot run the contracts' opcodes: none are added
    old = {"config": {"chainId": 4242, "homesteadBlock": 0, "berlinBlock": 0},
           "gasLimit": "0x1c9c380", "difficulty": "0x1", "alloc": {}}
    assert parse_genesis_json(old).alloc == {}


def test_the_build_is_deterministic():
    a = predeploy_alloc(chain_id=1, missing="error")
    predeploys._predeploy_alloc_cached.cache_clear()
    assert predeploy_alloc(chain_id=1, missing="error") == a


def test_the_artifact_cache_is_reused_and_rebuilt_when_a_source_changes(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    contracts = tmp_path / "project" / "contracts"
    shutil.copytree(predeploys.CONTRACTS_DIR, contracts, ignore=shutil.ignore_patterns("examples"))
    # AgentRegistry imports one more interface, only in this copy
    (contracts / "interfaces" / "ITestOnly.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\ninterface ITestOnly { function f() external; }\n")
    registry = contracts / "AgentRegistry.sol"
    text = registry.read_text()
    at = text.index("pragma solidity")
    at = text.index("\n", at) + 1
    registry.write_text(text[:at] + 'import "./interfaces/ITestOnly.sol";\n' + text[at:])
    calls: list[str] = []
    real_compile = predeploys._compile

    def counting(source, name, compiler, root):
        calls.append(name)
        return real_compile(source, name, compiler, root)

    monkeypatch.setattr(predeploys, "_compile", counting)
    first = predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=cache, missing="error")
    assert sorted(calls) == sorted(p.name for p in PREDEPLOYS)
    assert len(list(cache.glob("*.json"))) == 4

    # a second build (a new process: the in-memory result is forgotten) compiles nothing
    predeploys._predeploy_alloc_cached.cache_clear()
    calls.clear()
    second = predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=cache, missing="error")
    assert calls == []
    assert second == first

    # an imported interface changes: only what imports it is rebuilt
    interface = contracts / "interfaces" / "ITestOnly.sol"
    interface.write_text(interface.read_text() + "\n// changed\n")
    predeploys._predeploy_alloc_cached.cache_clear()
    predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=cache, missing="error")
    assert calls == ["AgentRegistry"]

    # the main source changes: it is rebuilt under a new key
    calls.clear()
    source = contracts / "AutoId.vy"
    source.write_text(source.read_text() + "\n# changed\n")
    predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=cache, missing="error")
    assert calls == ["AutoId"]


def test_a_missing_source_is_skipped_with_a_log_line_or_an_error(tmp_path, caplog):
    contracts = tmp_path / "project" / "contracts"
    contracts.mkdir(parents=True)
    shutil.copy(predeploys.CONTRACTS_DIR / "AutoId.vy", contracts / "AutoId.vy")
    with caplog.at_level("WARNING", logger="domains.evm.predeploys"):
        alloc = predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=tmp_path / "c", missing="skip")
    assert set(alloc) == {to_canonical_address(EXPECTED["AutoId"])}
    assert "predeploy AutoScore skipped" in caplog.text and "AutoScore.vy is not present" in caplog.text
    with pytest.raises(predeploys.PredeployError, match="AutoScore: source .* is missing"):
        predeploy_alloc(chain_id=7, contracts_dir=contracts, cache=tmp_path / "c", missing="error")
