"""The domain chain: genesis, block building in one batch, persistence, history, import/export."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import rlp
from eth.db.schema import SchemaV1
from eth_account import Account
from eth_utils import to_canonical_address

from chain.store import KVStore, StoreCorrupted
from domains.evm.blockfile import BlockFileError, export_blocks, import_blocks
from domains.evm.chain import META_KEY, DomainChain, DomainError, InvalidBlock
from domains.evm.genesis import (
    DEV_ACCOUNT_BALANCE,
    DEV_CHAIN_ID,
    GenesisError,
    dev_accounts,
    dev_genesis,
    load_genesis_json,
    parse_genesis_json,
)

ACCOUNTS = dev_accounts()
ALICE, ALICE_KEY = ACCOUNTS[0]
BOB = ACCOUNTS[1][0]


def transfer(chain: DomainChain, nonce: int, value: int = 1, **fields):
    tx = {"chainId": chain.chain_id, "nonce": nonce, "to": BOB, "value": value, "gas": 21000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "type": 2}
    tx.update(fields)
    raw = Account.sign_transaction(tx, ALICE_KEY).raw_transaction
    return chain.pending_vm().get_transaction_builder().decode(raw)


def test_dev_genesis_funds_the_hardhat_accounts(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    assert ALICE == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    state = chain.state_at(chain.head())
    for address, _ in ACCOUNTS:
        assert state.get_balance(to_canonical_address(address)) == DEV_ACCOUNT_BALANCE
    assert chain.chain_id == DEV_CHAIN_ID and chain.head().gas_limit >= 30_000_000
    assert chain.fork_of(0) == "prague"


def test_block_of_many_transactions_from_one_sender(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    txs = [transfer(chain, n) for n in range(50)]
    built = chain.build_block(txs, timestamp=chain.head().timestamp + 1)
    assert len(built.block.transactions) == 50 and not built.dropped and not built.deferred
    assert built.block.header.gas_used == 50 * 21000
    assert chain.head().hash == built.block.hash
    assert chain.transaction_location(txs[49].hash) == (1, 49)
    assert chain.state_at(chain.head()).get_nonce(to_canonical_address(ALICE)) == 50


def test_domain_block_copy_shares_unchanged_fields_and_equals_a_deep_copy(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    block = chain.build_block([transfer(chain, n) for n in range(3)], timestamp=chain.head().timestamp + 1).block
    base_class = type(block).__mro__[1]
    assert type(block).__name__ == "Domain" + base_class.__name__
    new_header = block.header.copy(extra_data=b"copied")
    copied = block.copy(header=new_header)
    deep = base_class.copy(block, header=new_header)  # rlp's deep copy
    assert type(copied) is type(block)
    assert copied.transactions is block.transactions  # shared, not copied
    assert rlp.encode(copied) == rlp.encode(deep) and copied.hash == deep.hash == new_header.hash
    assert block.header.extra_data == b"" and block.hash != copied.hash  # the original is unchanged
    assert block.copy() == block and block.copy().transactions is block.transactions
    assert block.copy(block.header).header is block.header  # positional fields take rlp's own path


def test_built_block_receipts_come_from_memory_and_match_the_trie(tmp_path):
    from domains.evm import chain as chain_module
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    built = chain.build_block([transfer(chain, n) for n in range(3)], timestamp=chain.head().timestamp + 1)
    block = built.block
    remembered = chain_module.BUILT_RECEIPTS.get(block.header.receipt_root)
    assert remembered == built.receipts and block.get_receipts(None) is remembered
    from_trie = type(block).__mro__[1].get_receipts(block, chain.pending_vm().chaindb)
    assert from_trie == remembered


def test_trace_and_prev_randao_for_consensus_driven_blocks(tmp_path):
    """build_block(trace=True) records the state root after pre-processing and after each
    transaction; prev_randao becomes the header's mixHash; the block re-imports elsewhere."""
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    txs = [transfer(chain, n) for n in range(3)]
    built = chain.build_block(txs, timestamp=chain.head().timestamp + 1, prev_randao=b"\x42" * 32, trace=True)
    assert built.block.header.mix_hash == b"\x42" * 32
    assert len(built.trace) == 3 + 2 and built.trace[-1] == built.block.header.state_root
    assert len(set(built.trace[:4])) == 4  # each transfer changes the state
    untraced = DomainChain.create(tmp_path / "e", dev_genesis())
    again = untraced.build_block(txs, timestamp=built.block.header.timestamp, prev_randao=b"\x42" * 32)
    assert again.block.hash == built.block.hash and again.trace == []
    # The per-transaction roots leave nothing behind: both stores hold the same bytes.
    assert dict(chain.store.iterate()) == dict(untraced.store.iterate())
    replica = DomainChain.create(tmp_path / "f", dev_genesis())
    replica.import_block(built.block)
    assert replica.head().hash == built.block.hash


def test_invalid_transactions_are_dropped_and_oversize_deferred(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis(gas_limit=50_000))
    good, gap, too_big = transfer(chain, 0), transfer(chain, 5), transfer(chain, 1)
    third = transfer(chain, 2)
    built = chain.build_block([good, gap, too_big, third], timestamp=chain.head().timestamp + 1)
    assert [t.hash for t in built.block.transactions] == [good.hash, too_big.hash]
    assert [t.hash for t, _ in built.dropped] == [gap.hash]
    assert "nonce" in built.dropped[0][1].lower()
    assert [t.hash for t in built.deferred] == [third.hash]


def test_reopen_resumes_head_and_keeps_history(tmp_path):
    path = tmp_path / "d"
    chain = DomainChain.create(path, dev_genesis())
    bob = to_canonical_address(BOB)
    for n in range(3):
        chain.build_block([transfer(chain, n, value=1000)], timestamp=chain.head().timestamp + 1)
    head_hash = chain.head().hash
    chain.close()
    chain = DomainChain.open(path)
    assert chain.head().hash == head_hash and chain.head().block_number == 3
    # historical state at every retained block
    for number in range(4):
        state = chain.state_at(chain.header_by_number(number))
        assert state.get_balance(bob) == DEV_ACCOUNT_BALANCE + 1000 * number
    receipts = chain.receipts_of(chain.header_by_number(2))
    assert len(receipts) == 1 and receipts[0].state_root == b"\x01"


def test_open_rejects_missing_and_foreign_directories(tmp_path):
    with pytest.raises(DomainError, match="no domain database"):
        DomainChain.open(tmp_path / "nothing")
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    chain.close()
    with pytest.raises(DomainError, match="already holds a domain"):
        DomainChain.create(tmp_path / "d", dev_genesis())
    with pytest.raises(DomainError, match="chain id"):
        DomainChain.open_or_create(tmp_path / "d", dev_genesis(chain_id=12345))


def test_corrupted_database_file_is_reported(tmp_path):
    path = tmp_path / "d"
    DomainChain.create(path, dev_genesis()).close()
    (path / "data.mdb").write_bytes(b"\x00" * 4096)
    with pytest.raises(DomainError, match=str(path)):
        DomainChain.open(path)


def test_a_damaged_trie_node_is_refused_where_it_is_read(tmp_path):
    """LMDB keeps no checksums: a flipped byte in an account node was served as a balance.
    Values under 32-byte keys are their keccak-256 (trie nodes, headers, code) and are checked
    as they are read."""
    path = tmp_path / "d"
    chain = DomainChain.create(path, dev_genesis())
    chain.build_block([transfer(chain, 0, value=1000)], timestamp=chain.head().timestamp + 1)
    root = chain.head().state_root
    chain.close()
    store = KVStore(path)
    node = bytearray(store.get(root))
    node[len(node) // 2] ^= 0x01
    store.put(root, bytes(node))
    store.close()
    chain = DomainChain.open(path)
    stranger = bytes.fromhex("5e" * 20)  # never read before: no cache answers for it
    with pytest.raises(StoreCorrupted, match=f"{path / 'data.mdb'} is damaged: the value under {root.hex()}"):
        chain.state_at(chain.head()).get_balance(stranger)
    chain.close()


def test_a_damaged_canonical_index_is_refused_by_name(tmp_path):
    path = tmp_path / "d"
    chain = DomainChain.create(path, dev_genesis())
    for n in range(3):
        chain.build_block([transfer(chain, n, value=1)], timestamp=chain.head().timestamp + 1)
    chain.close()
    store = KVStore(path)
    key = SchemaV1.make_block_number_to_hash_lookup_key(2)
    value = bytearray(store.get(key))
    value[-1] ^= 0x01
    store.put(key, bytes(value))
    store.close()
    chain = DomainChain.open(path)
    with pytest.raises(StoreCorrupted, match="canonical index does not lead to block #2, below the head #3"):
        chain.header_by_number(2)
    assert chain.header_by_number(4) is None and chain.header_by_number(3).block_number == 3
    chain.close()


def test_damaged_domain_metadata_is_refused(tmp_path):
    """The metadata is JSON: a flipped digit in a fork number still parses, so it carries a
    checksum (a store written before the checksum opens as before)."""
    path = tmp_path / "d"
    DomainChain.create(path, parse_genesis_json(MULTI_FORK_GENESIS)).close()
    store = KVStore(path)
    raw = store.get(META_KEY)
    data = json.loads(raw)
    assert b'"berlin": 7' in raw
    store.put(META_KEY, raw.replace(b'"berlin": 7', b'"berlin": 9'))
    store.close()
    with pytest.raises(DomainError, match="domain metadata is corrupted: checksum mismatch"):
        DomainChain.open(path)
    store = KVStore(path)
    del data["checksum"]
    store.put(META_KEY, json.dumps(data, sort_keys=True).encode())
    store.close()
    DomainChain.open(path).close()  # no checksum: written before it existed


# -- multi-fork import/export --------------------------------------------------------------------

MULTI_FORK_GENESIS = {
    "config": {
        "chainId": 4242, "homesteadBlock": 1, "eip150Block": 2, "eip155Block": 3, "eip158Block": 3,
        "byzantiumBlock": 4, "constantinopleBlock": 5, "petersburgBlock": 5, "istanbulBlock": 6,
        "berlinBlock": 7, "londonBlock": 8, "mergeNetsplitBlock": 10,
        "terminalTotalDifficulty": 0, "shanghaiTime": 1_700_000_012, "cancunTime": 1_700_000_013,
        "pragueTime": 1_700_000_014,
    },
    "alloc": {ALICE: {"balance": hex(10**21)},
              "0x00000000000000000000000000000000000000aa": {"code": "0x6001600155", "storage": {"0x02": "0x05"}, "nonce": "0x1"}},
    "gasLimit": "0x1c9c380", "difficulty": "0x20000", "timestamp": hex(1_700_000_000), "extraData": "0x1234",
}


def fork_transaction(chain: DomainChain, nonce: int):
    """A transfer in the newest transaction type the next block's fork accepts."""
    parent = chain.head()
    fork = chain._resolve_fork_for_child(parent, parent.timestamp + 1)[-1][1]
    order = ["frontier", "homestead", "tangerine_whistle", "spurious_dragon", "byzantium", "constantinople",
             "petersburg", "istanbul", "muir_glacier", "berlin", "london"]
    tx = {"nonce": nonce, "to": BOB, "value": 7, "gas": 21000}
    at = order.index(fork) if fork in order else len(order)
    if at >= order.index("london"):
        tx.update(type=2, chainId=chain.chain_id, maxFeePerGas=10**11, maxPriorityFeePerGas=1)
    elif at >= order.index("berlin"):
        tx.update(type=1, chainId=chain.chain_id, gasPrice=10**10, accessList=[])
    elif at >= order.index("spurious_dragon"):
        tx.update(chainId=chain.chain_id, gasPrice=10**10)
    else:
        tx.update(gasPrice=10**10)
    raw = Account.sign_transaction(tx, ALICE_KEY).raw_transaction
    return chain.pending_vm().get_transaction_builder().decode(raw)


def build_multi_fork_chain(path, blocks: int = 16) -> DomainChain:
    chain = DomainChain.create(path, parse_genesis_json(MULTI_FORK_GENESIS))
    for nonce in range(blocks):
        chain.build_block([fork_transaction(chain, nonce)], timestamp=chain.head().timestamp + 1)
    return chain


def test_multi_fork_chain_exports_and_imports_to_same_head(tmp_path):
    chain = build_multi_fork_chain(tmp_path / "a")
    forks = [chain.fork_of(n) for n in range(chain.head().block_number + 1)]
    assert forks[0] == "frontier" and forks[-1] == "prague"
    assert {"homestead", "byzantium", "berlin", "london", "paris", "shanghai", "cancun"} <= set(forks)
    export_blocks(chain, tmp_path / "chain.rlp")
    head = chain.head()
    chain.close()

    genesis_file = tmp_path / "genesis.json"
    genesis_file.write_text(json.dumps(MULTI_FORK_GENESIS))
    imported = DomainChain.create(tmp_path / "b", load_genesis_json(genesis_file))
    assert import_blocks(imported, tmp_path / "chain.rlp") == head.block_number
    assert imported.head().hash == head.hash
    assert [imported.fork_of(n) for n in range(head.block_number + 1)] == forks
    # importing again is a no-op (resumable)
    assert import_blocks(imported, tmp_path / "chain.rlp") == 0


def test_import_export_commands_round_trip(tmp_path):
    chain = build_multi_fork_chain(tmp_path / "a", blocks=12)
    head = chain.head()
    chain.close()
    (tmp_path / "genesis.json").write_text(json.dumps(MULTI_FORK_GENESIS))
    cli = [sys.executable, "-m", "domains.cli"]
    out = subprocess.run(cli + ["export", "--base-path", str(tmp_path / "a"), "-o", str(tmp_path / "x.rlp")],
                         capture_output=True, text=True, check=True)
    assert "exported 12 blocks" in out.stdout
    out = subprocess.run(cli + ["import", "--genesis", str(tmp_path / "genesis.json"), "--blocks", str(tmp_path / "x.rlp"),
                                "--base-path", str(tmp_path / "b")], capture_output=True, text=True, check=True)
    assert f"head #{head.block_number} 0x{head.hash.hex()}" in out.stdout


def test_import_rejects_tampered_and_truncated_blocks(tmp_path):
    chain = build_multi_fork_chain(tmp_path / "a", blocks=10)
    blocks = [chain.block_of(chain.header_by_number(n)) for n in range(1, 11)]
    chain.close()
    genesis = parse_genesis_json(MULTI_FORK_GENESIS)

    # a wrong state root in block 9: rejected, and blocks before it stay imported
    bad = blocks[8].copy(header=blocks[8].header.copy(state_root=b"\x11" * 32))
    (tmp_path / "bad.rlp").write_bytes(b"".join(rlp.encode(b) for b in blocks[:8] + [bad]))
    target = DomainChain.create(tmp_path / "b", genesis)
    with pytest.raises(BlockFileError, match="block 8 at byte"):
        import_blocks(target, tmp_path / "bad.rlp")
    assert target.head().block_number == 8

    data = b"".join(rlp.encode(b) for b in blocks)
    (tmp_path / "short.rlp").write_bytes(data[:-5])
    with pytest.raises(BlockFileError, match="truncated"):
        import_blocks(DomainChain.create(tmp_path / "c", genesis), tmp_path / "short.rlp")
    with pytest.raises(InvalidBlock):
        target.decode_block(b"\xc3\x01\x02\x03")


@pytest.mark.parametrize("mutation, message", [
    (lambda g: g.pop("config"), "config"),
    (lambda g: g["config"].update(chainId="abc"), "config.chainId"),
    (lambda g: g.pop("gasLimit"), "gasLimit"),
    (lambda g: g["alloc"].update({"0x12": {"balance": "1"}}), "alloc"),
    (lambda g: g["alloc"][ALICE].update(balance="0xzz"), "balance"),
    (lambda g: g["config"].update(clique={"period": 1}), "clique"),
])
def test_bad_genesis_json_names_the_field(mutation, message):
    genesis = json.loads(json.dumps(MULTI_FORK_GENESIS))
    mutation(genesis)
    with pytest.raises(GenesisError, match=message):
        parse_genesis_json(genesis)


# -- the execution-apis test chain (hive's, Frontier rules through Prague) -----------------------

EXECUTION_APIS = __import__("pathlib").Path(__file__).parent / "data" / "execution-apis" / "tests"


def test_unsupported_fork_is_named():
    genesis = json.loads((EXECUTION_APIS / "genesis.json").read_text())
    with pytest.raises(GenesisError, match="config.osakaTime"):
        parse_genesis_json(genesis)


def test_import_execution_apis_chain_through_prague(tmp_path):
    """The execution-apis fixture chain (54 blocks, a fork every 3 blocks) up to its last Prague
    block (47; Osaka starts at 48 and py-evm has no Osaka): every block re-executed, validated
    and stored; the head hash is the file's block 47. Its pre-merge blocks carry fake PoW
    seals, so the seal check is off (`--skip-seal-check`); everything else is validated."""
    genesis = json.loads((EXECUTION_APIS / "genesis.json").read_text())
    for key in ("osakaTime", "bpo1Time", "bpo2Time"):
        del genesis["config"][key]
    (tmp_path / "genesis.json").write_text(json.dumps(genesis))
    from domains.evm.blockfile import iter_rlp_items
    items = [raw for _, raw in iter_rlp_items((EXECUTION_APIS / "chain.rlp").read_bytes())]
    (tmp_path / "chain.rlp").write_bytes(b"".join(items[:47]))
    expected_head = rlp.decode(items[46])[0]
    from eth_utils import keccak
    out = subprocess.run([sys.executable, "-m", "domains.cli", "import", "--genesis", str(tmp_path / "genesis.json"),
                          "--blocks", str(tmp_path / "chain.rlp"), "--base-path", str(tmp_path / "d"), "--skip-seal-check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"head #47 0x{keccak(rlp.encode(expected_head)).hex()}" in out.stdout
    chain = DomainChain.open(tmp_path / "d")
    assert [chain.fork_of(n) for n in (0, 3, 24, 27, 36, 39, 42, 45, 47)] == [
        "homestead", "tangerine_whistle", "berlin", "london", "paris", "shanghai", "cancun", "prague", "prague"]
    chain.close()
    # with the seal check on, the fake seals are caught
    out = subprocess.run([sys.executable, "-m", "domains.cli", "import", "--genesis", str(tmp_path / "genesis.json"),
                          "--blocks", str(tmp_path / "chain.rlp"), "--base-path", str(tmp_path / "e")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "block 0 at byte 0" in out.stderr


def test_garbage_blocks_are_invalid_blocks_not_crashes(tmp_path):
    chain = DomainChain.create(tmp_path / "d", dev_genesis())
    block = chain.build_block([transfer(chain, 0)], timestamp=chain.head().timestamp + 1).block
    raw = rlp.encode(block)
    for garbage in (b"", b"\x80", b"\xc0", rlp.encode([b"x"] * 3), rlp.encode([[b"\x01"] * 20, [], []]),
                    raw[:-1] + b"\x00", bytes(range(256))):
        with pytest.raises(InvalidBlock):
            chain.import_block(chain.decode_block(garbage))
    orphan = block.copy(header=block.header.copy(parent_hash=b"\x22" * 32))
    with pytest.raises(InvalidBlock, match="unknown parent"):
        chain.import_block(orphan)
    assert chain.head().hash == block.hash
