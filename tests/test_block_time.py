"""Block time follows the wall clock: the author sets it (`Timestamp.set`), always after the
parent's; importers refuse a time too far ahead of their own clock; the EVM domain's
`block.timestamp` is its consensus block's time, so it stays current after a node was stopped."""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from chain.block import TimestampInFuture
from chain.node import ConsensusNode
from chain.node.import_checks import MAX_TIMESTAMP_DRIFT_MS, check_timestamp_not_in_future
from chain.node.production import author_timestamp
from chain.params import DEV, TEST
from chain.runtime.extrinsics import inherent_extrinsic, remark_call, timestamp_set_call
from chain.runtime.timestamp import timestamp_of_block
from domains.devnet import DevNetConfig, DevNetwork
from domains.evm.genesis import dev_accounts, dev_genesis
from tests.node_support import genesis_config, make_node, make_runtime


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def test_the_author_takes_its_clock_but_never_goes_back():
    assert author_timestamp(parent_timestamp_ms=1_000, wall_clock_ms=5_000) == 5_000
    assert author_timestamp(parent_timestamp_ms=9_000, wall_clock_ms=5_000) == 9_001  # a clock behind the chain
    assert author_timestamp(parent_timestamp_ms=5_000, wall_clock_ms=5_000) == 5_001


def test_the_drift_limit_and_the_inherent_reader():
    label = {"number": 7, "block_hash": b"\x01" * 32}
    check_timestamp_not_in_future(10_000 + MAX_TIMESTAMP_DRIFT_MS, 10_000, label)
    check_timestamp_not_in_future(None, 10_000, label)  # no readable time: the runtime refuses the block
    with pytest.raises(TimestampInFuture, match="#7.*30001 ms ahead"):
        check_timestamp_not_in_future(10_001 + MAX_TIMESTAMP_DRIFT_MS, 10_000, label)
    extrinsics = [inherent_extrinsic(remark_call(b"x")), inherent_extrinsic(timestamp_set_call(123_456)), b"\xff"]
    assert timestamp_of_block(extrinsics) == 123_456
    assert timestamp_of_block([b"\xff\x00", inherent_extrinsic(remark_call(b""))]) is None


def test_blocks_carry_the_wall_clock_and_importers_refuse_a_clock_far_ahead(tmp_path):
    ahead = Clock(offset=3600)
    producer = make_node(tmp_path / "a", clock=ahead)
    try:
        blocks = producer.node.produce_blocks(3)
        times = [timestamp_of_block(b.block.extrinsics) for b in blocks]
        assert times == sorted(set(times))
        assert abs(times[-1] - ahead() * 1000) < 10_000  # the producer's clock, an hour ahead of ours
        assert producer.node.runtime.timestamp(producer.node.trie_db(), producer.node.state_root()) == times[-1]

        in_time = ConsensusNode(tmp_path / "b", TEST, make_runtime(), None, genesis_config=genesis_config(),
                                durable=False)
        ahead_too = ConsensusNode(tmp_path / "c", TEST, make_runtime(), None, genesis_config=genesis_config(),
                                  durable=False, clock=Clock(offset=3600 - 5))
        try:
            in_time.pot.advance_to(blocks[0].header.pre_digest(TEST).slot)
            with pytest.raises(TimestampInFuture, match="ahead of this node's clock"):
                in_time.import_block(blocks[0])
            assert in_time.best_header().number == 0  # refused, nothing stored
            for block in blocks:
                ahead_too.pot.advance_to(block.header.pre_digest(TEST).slot)
                assert ahead_too.import_block(block).is_new_best
            assert ahead_too.state_root() == producer.node.state_root()
        finally:
            in_time.close()
            ahead_too.close()
    finally:
        producer.farmer.stop()
        producer.node.close()


def test_the_domain_block_time_follows_the_wall_clock_after_a_stop(tmp_path):
    """A day passes between two blocks (the node was stopped): the next consensus block, and the
    domain block derived from it, carry the new day, not the old one plus a slot."""
    clock = Clock()
    net = DevNetwork(DevNetConfig(base_path=tmp_path, domain_genesis=dev_genesis(), clock=clock, out=None,
                                  durable=False, params=DEV.with_(pot_iterations=1 << 12)))
    try:
        net.farmer.start(net.node.history_size(), net.node.segment_commitment)
        assert net.farmer.wait_plotted(120)
        address, key = dev_accounts()[8]

        def include_transfer(nonce: int):
            signed = Account.sign_transaction({"chainId": net.domain_chain.chain_id, "nonce": nonce,
                                               "to": dev_accounts()[9][0], "value": 1, "gas": 21000,
                                               "gasPrice": 10**10}, key)
            net.domain_node.submit_raw_transaction(signed.raw_transaction)
            for _ in range(400):
                net.node.run_slot()
                net.process_pending_events()
                location = net.domain_chain.transaction_location(bytes(signed.hash))
                if location is not None:
                    return net.domain_chain.header_by_number(location[0])
            raise AssertionError("the transfer was not included")

        before = include_transfer(0)
        assert abs(before.timestamp - time.time()) < 60
        clock.offset = 86_400
        after = include_transfer(1)
        assert abs(after.timestamp - (time.time() + 86_400)) < 60
        consensus_time = net.node.runtime.timestamp(net.node.trie_db(), net.node.state_root())
        assert abs(consensus_time / 1000 - (time.time() + 86_400)) < 60
    finally:
        net.close()
