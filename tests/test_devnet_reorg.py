"""Fork choice through the whole dev network: two copies of one dev network grow competing
consensus branches, each carrying different domain transactions; when the heavier branch reaches
the other node, its consensus chain reorgs, the domain rewinds to the common ancestor and
follows the new branch to exactly the same domain blocks, and the abandoned branch's
transactions go back to the pool (spec consensus.md §8 "Fork choice", domains.md §2.4).

The networks are driven slot by slot (`node.run_slot()` then `process_pending_events()`), with
PoT shortened to 2^12 iterations per slot."""

from __future__ import annotations

import shutil

from eth_account import Account

from chain.params import DEV
from domains.devnet import DevNetConfig, DevNetwork
from domains.evm.genesis import dev_accounts, dev_genesis

PARAMS = DEV.with_(pot_iterations=1 << 12)
GENESIS = dev_genesis(timestamp=1_760_000_000)
SENDER_A, KEY_A = dev_accounts()[6]
SENDER_B, KEY_B = dev_accounts()[7]


def network(base) -> DevNetwork:
    net = DevNetwork(DevNetConfig(base_path=base, domain_genesis=GENESIS, params=PARAMS, out=None, durable=False))
    net.farmer.start(net.node.history_size(), net.node.segment_commitment)
    assert net.farmer.wait_plotted(120)
    return net


def transfer(net: DevNetwork, key: bytes, nonce: int, value: int) -> bytes:
    signed = Account.sign_transaction({"chainId": net.domain_chain.chain_id, "nonce": nonce, "to": dev_accounts()[9][0],
                                       "value": value, "gas": 21000, "maxFeePerGas": 10**10,
                                       "maxPriorityFeePerGas": 1, "type": 2}, key)
    net.domain_node.submit_raw_transaction(signed.raw_transaction)
    return bytes(signed.hash)


def grow(net: DevNetwork, blocks: int, max_slots: int = 400) -> None:
    """Drive the network slot by slot until its consensus chain grew by `blocks`."""
    target = net.node.best_header().number + blocks
    for _ in range(max_slots):
        net.node.run_slot()
        net.process_pending_events()
        if net.node.best_header().number >= target:
            net.process_pending_events()
            return
    raise AssertionError(f"no {blocks} blocks within {max_slots} slots")


def wait_included(net: DevNetwork, tx_hash: bytes, max_blocks: int = 20) -> None:
    for _ in range(max_blocks):
        if net.domain_chain.transaction_location(tx_hash) is not None:
            return
        grow(net, 1)
    raise AssertionError(f"transaction 0x{tx_hash.hex()} not included")


def test_domain_follows_the_heavier_consensus_branch(tmp_path):
    # a common prefix with a domain transaction in it
    x = network(tmp_path / "x")
    common = transfer(x, KEY_A, 0, 1)
    wait_included(x, common)
    grow(x, 2)
    x.close()
    shutil.copytree(tmp_path / "x", tmp_path / "y")
    x, y = network(tmp_path / "x"), network(tmp_path / "y")
    try:
        fork_number = x.node.best_header().number
        assert y.node.best_header().hash() == x.node.best_header().hash()

        # X: a short branch carrying A's transaction; Y: a longer one carrying B's
        only_x = transfer(x, KEY_A, 1, 2)
        wait_included(x, only_x)
        only_y = transfer(y, KEY_B, 0, 3)
        wait_included(y, only_y)
        grow(y, max(2, x.node.best_header().number - y.node.best_header().number + 2))
        assert y.node.best_header().number > x.node.best_header().number
        x_domain_before = x.domain_chain.head()

        # Y's branch reaches X: X's consensus chain reorgs and its domain follows
        for number in range(fork_number + 1, y.node.best_header().number + 1):
            signed = y.node.block(y.node.canonical_hash(number))
            x.node.pot.advance_to(signed.header.pre_digest(PARAMS).slot)
            x.node.import_block(signed.encode())
        x.process_pending_events()

        assert x.node.best_header().hash() == y.node.best_header().hash()
        assert x.node.state_root() == y.node.state_root()
        assert x.domain_chain.head().hash == y.domain_chain.head().hash != x_domain_before.hash
        assert x.domain_chain.transaction_location(only_y) is not None
        assert x.domain_chain.transaction_location(common) is not None  # the common prefix stays
        assert x.domain_chain.transaction_location(only_x) is None  # the abandoned branch's is gone ...
        assert x.domain_node.pool.get(only_x) is not None  # ... back in the pool
        state = x.domain_chain.state_at(x.domain_chain.head())
        assert state.get_nonce(bytes.fromhex(SENDER_A[2:])) == 1 and state.get_nonce(bytes.fromhex(SENDER_B[2:])) == 1

        # and X carries on: the returned transaction is included on the new branch
        wait_included(x, only_x)
    finally:
        x.close()
        y.close()
