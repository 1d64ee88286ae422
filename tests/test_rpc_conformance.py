"""The gateway against the `ethereum/execution-apis` conformance fixtures.

The fixtures are request/response pairs recorded from geth on the 54-block chain in
`tests/data/execution-apis/tests/` (`genesis.json` + `chain.rlp`). The chain is imported into
a domain data directory (full validation), served by the gateway, and every request replayed:
- a recorded result must be reproduced exactly, and must validate against the method's
  result schema; for `speconly` fixtures only the schema is checked (the recording is an example);
- a recorded error must be answered with an error of the same code (and, for reverts, the
  same message and revert data).

The fixture chain schedules Osaka and two blob-parameter forks after Prague; py-evm's newest
fork is Prague, under which the chain imports to the recorded head, so those keys are dropped
from the genesis config and its PoW seals are not checked (hive's chain uses fake ethash).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from domains.evm.blockfile import import_blocks
from domains.evm.chain import DomainChain
from domains.evm.genesis import parse_genesis_json
from domains.evm.node import DomainNode
from domains.rpc.server import build_app
from domains.rpc.testing import LiveServer
from tests.rpc_schema import FIXTURE_DIR, load_io_fixtures, method_names, validate_result
from tests.test_rpc_gateway import Rpc

#: Config keys of forks py-evm does not implement (the chain imports as Prague without them).
UNKNOWN_FORK_KEYS = ("osakaTime", "bpo1Time", "bpo2Time")
HEAD_HASH = "0xd226371d0b1551adb03fb52b71f08e3e11247fe9b1af994768af8cdaa8e7dcd7"

#: Fixtures the gateway answers differently from geth on purpose, with the reason.
DIFFERENT_BY_DESIGN = {
    "eth_config/get-config": "geth runs the chain's last blocks under Osaka/BPO2; py-evm (and so the "
                             "domain) under Prague, so the current fork, fork id and blob schedule differ",
    "eth_estimateGas/estimate-with-eip4844": "a domain has no blob transactions: blob fields are refused (-32602)",
    "eth_sendRawTransaction/send-blob-tx": "a domain's pool refuses blob transactions",
    "eth_simulateV1/ethSimulate-blobs": "a domain has no blob transactions: a call with blob fields is refused (-32602)",
}
#: Fixtures whose recorded geth answer, which the gateway reproduces exactly, fails the spec's
#: own result schema (so the schema check of `test_fixture` fails), with the reason.
RECORDING_VIOLATES_SCHEMA = {
    name: "geth's recorded answer reports a failed call's VM error as e.g. \"out of gas\", which the "
          "spec's CallResultFailure schema (-32015 message '^vm execution error.*') refuses"
    for name in ("eth_simulateV1/ethSimulate-run-out-of-gas-in-block-38015",
                 "eth_simulateV1/ethSimulate-use-as-many-features-as-possible")
}
#: Whole methods not served, with the reason.
NOT_SERVED: dict[str, str] = {}  # every method of the execution-apis is served

FIXTURES = load_io_fixtures()


def fixture_params():
    for fixture in FIXTURES:
        reason = (DIFFERENT_BY_DESIGN.get(fixture.name) or RECORDING_VIOLATES_SCHEMA.get(fixture.name)
                  or NOT_SERVED.get(fixture.method))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        yield pytest.param(fixture, id=fixture.name, marks=marks)


@pytest.fixture(scope="module")
def rpc():
    tmp = Path(tempfile.mkdtemp(prefix="rpc-conformance-"))
    raw = json.loads((FIXTURE_DIR / "genesis.json").read_text())
    for key in UNKNOWN_FORK_KEYS:
        raw["config"].pop(key, None)
    genesis = parse_genesis_json(raw)
    genesis = dataclasses.replace(genesis, forks=dataclasses.replace(genesis.forks, seal="none"))
    chain = DomainChain.create(tmp / "domain", genesis)
    import_blocks(chain, FIXTURE_DIR / "chain.rlp")
    assert "0x" + chain.head().hash.hex() == HEAD_HASH
    server = LiveServer(build_app(DomainNode(chain))).start()
    yield Rpc(server.url)
    server.stop()
    chain.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("fixture", fixture_params())
def test_fixture(rpc, fixture):
    for exchange in fixture.exchanges:
        answer = rpc.raw(exchange.request).json()
        expected = exchange.response
        assert answer["id"] == expected["id"]
        if "error" in expected:
            assert "error" in answer, f"{fixture.name}: expected error {expected['error']}, got {answer.get('result')!r:.300}"
            assert answer["error"]["code"] == expected["error"]["code"], (fixture.name, answer["error"])
            if expected["error"]["code"] == 3:
                assert answer["error"] == expected["error"]
            continue
        assert "error" not in answer, f"{fixture.name}: {answer['error']}"
        if exchange.method in method_names():
            validate_result(exchange.method, answer["result"])
        if not fixture.speconly:
            assert answer["result"] == expected["result"], fixture.name
