"""The consensus chain's JSON-RPC (`chain_*`, `author_*`, `subspace_*`) on the gateway, beside a
real consensus node at TEST params (shim PoS, 512 PoT iterations, real KZG and archiving)."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.sync.client import connect

from chain.archiving import is_piece_valid
from chain.block import Header
from chain.params import TEST
from chain.runtime.extrinsics import signed_transfer
from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_genesis
from domains.evm.node import DomainNode
from domains.rpc.server import build_app
from domains.rpc.testing import LiveServer
from tests.node_support import ALICE, BOB, make_node


class Rpc:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)

    def call(self, method: str, *params) -> dict:
        return self.client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()

    def result(self, method: str, *params):
        body = self.call(method, *params)
        assert "error" not in body, f"{method}: {body['error']}"
        return body["result"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("consensus-rpc")
    setup = make_node(base)
    node = setup.node
    node.produce_blocks(12)
    domain = DomainNode(DomainChain.create(base / "domain", dev_genesis()))
    server = LiveServer(build_app(domain, consensus=node)).start()
    yield node, Rpc(server.url), server
    server.stop()
    node.close()
    setup.farmer.stop()


def test_headers_and_blocks_match_the_node(env):
    node, rpc, _ = env
    best = node.best_header()
    assert rpc.result("chain_getBlockHash") == "0x" + best.hash().hex()
    assert rpc.result("chain_getBlockHash", 0) == "0x" + node.canonical_hash(0).hex()
    assert rpc.result("chain_getBlockHash", "0x3") == "0x" + node.canonical_hash(3).hex()
    assert rpc.result("chain_getBlockHash", 10**6) is None

    header = rpc.result("chain_getHeader")
    assert header["number"] == hex(best.number) and header["parentHash"] == "0x" + best.parent_hash.hex()
    # the digest logs are SCALE digest items: re-encoding the header from the JSON gives its hash
    third = node.block(3)
    block = rpc.result("chain_getBlock", "0x" + third.hash().hex())
    assert block["block"]["header"]["number"] == "0x3"
    assert [bytes.fromhex(x[2:]) for x in block["block"]["extrinsics"]] == list(third.block.extrinsics)
    engine, justification = block["justifications"][0]
    assert engine == "0x" + b"SUB_".hex() and bytes.fromhex(justification[2:]) == third.justification.encode()
    assert rpc.result("chain_getHeader", "0x" + "00" * 32) is None


def test_header_json_round_trips_to_the_block_hash(env):
    node, rpc, _ = env
    from chain.block import decode_digest_item

    h = rpc.result("chain_getHeader", "0x" + node.canonical_hash(5).hex())
    digest = tuple(decode_digest_item(bytes.fromhex(x[2:]), 0)[0] for x in h["digest"]["logs"])
    rebuilt = Header(bytes.fromhex(h["parentHash"][2:]), int(h["number"], 16), bytes.fromhex(h["stateRoot"][2:]),
                     bytes.fromhex(h["extrinsicsRoot"][2:]), digest)
    assert rebuilt.hash() == node.canonical_hash(5)


def test_segment_headers_and_pieces(env):
    node, rpc, _ = env
    last = rpc.result("subspace_lastSegmentHeaders", 2)
    assert last and all("v0" in h for h in last)
    newest = node.last_segment_headers(1)[0]
    assert last[-1]["v0"]["segmentIndex"] == newest.segment_index
    assert last[-1]["v0"]["segmentCommitment"] == "0x" + newest.segment_commitment.hex()
    assert rpc.result("subspace_segmentHeaders", [0, 10**6]) == [
        {"v0": rpc.result("subspace_lastSegmentHeaders", 1000)[0]["v0"]}, None]
    piece = bytes.fromhex(rpc.result("subspace_piece", 1)[2:])
    assert is_piece_valid(node.kzg, piece, node.segment_commitment(0), 1, TEST)
    assert rpc.result("subspace_piece", 10**9) is None
    assert rpc.result("subspace_piece", 2**64 - 1) is None
    error = rpc.call("subspace_piece", 2**64)["error"]  # a u64 index; was an OverflowError (-32603)
    assert error["code"] == -32602 and "at most 18446744073709551615" in error["message"]
    assert rpc.call("subspace_segmentHeaders", [2**64])["error"]["code"] == -32602
    for bad in ("0x-1", "0x 1", "0x1_0"):
        assert rpc.call("chain_getBlockHash", bad)["error"]["code"] == -32602, bad
    assert rpc.result("chain_getBlockHash", "0X0") == rpc.result("chain_getBlockHash", 0)
    assert rpc.call("subspace_lastSegmentHeaders", -1)["error"]["code"] == -32602
    assert rpc.call("subspace_lastSegmentHeaders", 1001)["error"]["code"] == -32602


def test_pot_info_solution_ranges_and_farmer_app_info(env):
    node, rpc, _ = env
    pot = rpc.result("subspace_potInfo")
    assert pot["slotIterations"] == TEST.pot_iterations and pot["slot"] >= node.best_header().number
    ranges = rpc.result("subspace_solutionRanges")
    assert ranges["current"] == node.solution_ranges().current
    info = rpc.result("subspace_getFarmerAppInfo")
    assert info["genesisHash"] == "0x" + node.canonical_hash(0).hex()
    assert info["protocolInfo"]["historySize"] == node.history_size()
    assert info["protocolInfo"]["maxPiecesInSector"] == TEST.max_pieces_in_sector


def test_submit_extrinsic_then_included(env):
    node, rpc, _ = env
    genesis = node.canonical_hash(0)
    nonce = node.runtime.nonce(node.trie_db(), node.state_root(), ALICE.public_key)
    before = node.runtime.balance(node.trie_db(), node.state_root(), BOB.public_key)
    ext = signed_transfer(ALICE, BOB.public_key, 12345, nonce, genesis)
    ext_hash = rpc.result("author_submitExtrinsic", "0x" + ext.hex())
    assert len(bytes.fromhex(ext_hash[2:])) == 32
    node.produce_blocks(1)
    assert node.runtime.balance(node.trie_db(), node.state_root(), BOB.public_key) == before + 12345
    # a replay (stale nonce) and garbage are refused with Substrate's 1010, naming the reason
    stale = rpc.call("author_submitExtrinsic", "0x" + ext.hex())
    assert stale["error"]["code"] == 1010 and "Invalid Transaction" in stale["error"]["message"]
    assert rpc.call("author_submitExtrinsic", "0x0102")["error"]["code"] == 1010
    assert rpc.call("author_submitExtrinsic", "zz")["error"]["code"] == -32602


def test_subscriptions_for_new_heads_and_slots(env):
    node, rpc, server = env
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []}))
        heads_id = json.loads(ws.recv())["result"]
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "subspace_subscribeSlotInfo", "params": []}))
        slots_id = json.loads(ws.recv())["result"]
        produced = node.produce_blocks(1)[0]
        seen = {}
        while len(seen) < 2:
            message = json.loads(ws.recv(timeout=30))
            seen.setdefault(message["method"], message["params"])
        head = seen["chain_newHead"]
        assert head["subscription"] == heads_id and head["result"]["number"] == hex(produced.number)
        slot = seen["subspace_slot_info"]
        assert slot["subscription"] == slots_id and {"slotNumber", "globalChallenge", "solutionRange"} <= set(slot["result"])
        for bad in (1.7, True, -1, "0x-1", [heads_id]):
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "chain_unsubscribeNewHeads", "params": [bad]}))
            assert json.loads(ws.recv())["error"]["code"] == -32602, bad
        # Each namespace ends its own kind of subscription only.
        for method in ("subspace_unsubscribeSlotInfo", "eth_unsubscribe"):
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 8, "method": method, "params": [heads_id]}))
            assert json.loads(ws.recv())["result"] is False, method
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "chain_unsubscribeNewHeads", "params": [heads_id]}))
        assert json.loads(ws.recv())["result"] is True

