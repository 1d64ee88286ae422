"""The `eth_simulateV1` engine (`domains.evm.simulate`) on a dev chain.

The recorded geth answers of `ethereum/execution-apis` are replayed by
`tests/test_rpc_conformance.py`; these tests check the rules one at a time on a chain of our
own: state carried between calls and blocks, simulated headers and their chaining, geth's
error codes, transfer logs, precompile moves, and that nothing reaches the store.
"""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from eth_utils import to_canonical_address

from domains.evm.chain import DomainChain
from domains.evm.genesis import dev_genesis
from domains.evm.simulate import (
    TRANSFER_LOG_ADDRESS,
    TRANSFER_TOPIC,
    SimulationError,
    SimulationRequest,
    simulate,
)

GENESIS_TIME = 1_700_000_000
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x" + "b0" * 20
CAROL = "0x" + "ca" * 20
REVERTER = "0x" + "0e" * 20
BLOCKHASHER = "0x" + "0b" * 20
#: REVERT with the word 42 as data
REVERT_42 = "0x602a60005260206000fd"
#: return BLOCKHASH(NUMBER - 1)
PARENT_HASH = "0x6001430340600052602060" + "00f3"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    chain = DomainChain.create(tmp_path_factory.mktemp("simulate") / "d", dev_genesis(timestamp=GENESIS_TIME))
    for i in range(3):
        chain.build_block([], timestamp=GENESIS_TIME + 10 * (i + 1))
    yield chain
    chain.close()


def run(chain, payload, base=None):
    return simulate(chain, base or chain.head(), SimulationRequest.from_json(payload))


def transfer(sender, to, value, **fields):
    return {"from": sender, "to": to, "value": hex(value), **fields}


def test_state_carries_across_calls_and_blocks_and_headers_chain(chain):
    head = chain.head()
    alice = to_canonical_address(ALICE)
    before = chain.state_at(head).get_balance(alice), chain.state_at(head).get_nonce(alice)
    blocks = run(chain, {"blockStateCalls": [
        {"stateOverrides": {CAROL: {"balance": hex(1000)}},
         "calls": [transfer(CAROL, BOB, 600), transfer(BOB, CAROL, 100)]},
        {"calls": [transfer(CAROL, BOB, 500)]},
    ]})
    assert [b.block.number for b in blocks] == [head.block_number + 1, head.block_number + 2]
    assert [b.block.header.timestamp for b in blocks] == [head.timestamp + 12, head.timestamp + 24]
    assert blocks[0].block.header.parent_hash == head.hash
    assert blocks[1].block.header.parent_hash == blocks[0].block.hash
    assert [c.status for b in blocks for c in b.calls] == [1, 1, 1]
    assert [c.gas_used for b in blocks for c in b.calls] == [21000, 21000, 21000]
    assert blocks[0].block.header.gas_used == 42000
    # nonces: CAROL sent twice, so its transactions carry nonces 0 and 1
    assert [tx.nonce for tx in blocks[0].block.transactions] == [0, 0]
    assert blocks[1].block.transactions[0].nonce == 1
    assert blocks[0].senders == (to_canonical_address(CAROL), to_canonical_address(BOB))
    # without validation, fee-less calls run with base fee 0
    assert blocks[0].block.header.base_fee_per_gas == 0
    # nothing was written: the head and its state are unchanged
    assert chain.head() == head
    assert (chain.state_at(head).get_balance(alice), chain.state_at(head).get_nonce(alice)) == before


def test_a_transfer_beyond_the_balance_fails_the_whole_request(chain):
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": [{"stateOverrides": {CAROL: {"balance": hex(1000)}},
                                         "calls": [transfer(CAROL, BOB, 1001)]}]})
    assert err.value.code == -38014


def test_validation_checks_nonces_and_base_fee(chain):
    with pytest.raises(SimulationError) as err:
        run(chain, {"validation": True, "blockStateCalls": [{"calls": [transfer(ALICE, BOB, 1, nonce="0x7")]}]})
    assert err.value.code == -38011
    with pytest.raises(SimulationError) as err:
        run(chain, {"validation": True, "blockStateCalls": [
            {"blockOverrides": {"baseFeePerGas": "0x10"}, "calls": [transfer(ALICE, BOB, 1)]}]})
    assert err.value.code == -38012
    # paying the base fee passes; the block records it
    blocks = run(chain, {"validation": True, "blockStateCalls": [
        {"blockOverrides": {"baseFeePerGas": "0x10"}, "calls": [transfer(ALICE, BOB, 1, maxFeePerGas="0x20")]}]})
    assert blocks[0].calls[0].status == 1
    assert blocks[0].block.header.base_fee_per_gas == 0x10


def test_block_numbers_and_times_must_increase_and_gaps_are_filled(chain):
    head = chain.head()
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": [{"blockOverrides": {"number": hex(head.block_number)}}]})
    assert err.value.code == -38020
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": [{"blockOverrides": {"time": hex(head.timestamp)}}]})
    assert err.value.code == -38021
    blocks = run(chain, {"blockStateCalls": [{"blockOverrides": {"number": hex(head.block_number + 4)}}]})
    assert [b.block.number for b in blocks] == [head.block_number + n for n in (1, 2, 3, 4)]
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": [{"blockOverrides": {"number": hex(head.block_number + 257)}}]})
    assert err.value.code == -38026


def test_failed_calls_are_results_with_geth_errors(chain):
    blocks = run(chain, {"blockStateCalls": [{
        "stateOverrides": {REVERTER: {"code": REVERT_42}},
        "calls": [{"from": ALICE, "to": REVERTER}, {"from": ALICE, "to": REVERTER, "gas": hex(21010)}],
    }]})
    reverted, out_of_gas = blocks[0].calls
    assert reverted.status == 0 and reverted.output == b""
    assert reverted.error == (3, "execution reverted", (42).to_bytes(32, "big"))
    assert out_of_gas.status == 0 and out_of_gas.error == (-32015, "out of gas", None)
    assert out_of_gas.gas_used == 21010


def test_block_gas_limit_is_enforced(chain):
    limit = chain.head().gas_limit
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": [{"calls": [transfer(ALICE, BOB, 1, gas=hex(limit + 1))]}]})
    assert err.value.code == -38015


def test_blockhash_reads_earlier_simulated_blocks(chain):
    blocks = run(chain, {"blockStateCalls": [
        {"stateOverrides": {BLOCKHASHER: {"code": PARENT_HASH}}},
        {"calls": [{"from": ALICE, "to": BLOCKHASHER}]},
    ]})
    assert blocks[1].calls[0].output == blocks[0].block.hash
    base = chain.head()
    blocks = run(chain, {"blockStateCalls": [{"stateOverrides": {BLOCKHASHER: {"code": PARENT_HASH}},
                                              "calls": [{"from": ALICE, "to": BLOCKHASHER}]}]})
    assert blocks[0].calls[0].output == base.hash


def test_trace_transfers_logs_value_moves_outside_receipts(chain):
    call = {"blockStateCalls": [{"calls": [transfer(ALICE, BOB, 5)]}]}
    assert run(chain, call)[0].calls[0].logs == ()
    traced = run(chain, {**call, "traceTransfers": True})[0]
    (log,) = traced.calls[0].logs
    assert log == (TRANSFER_LOG_ADDRESS,
                   (TRANSFER_TOPIC, int(ALICE, 16), int(BOB, 16)), (5).to_bytes(32, "big"))
    assert TRANSFER_TOPIC == int.from_bytes(keccak(b"Transfer(address,address,uint256)"), "big")
    # the tracer's logs are not the transaction's: same block either way
    assert traced.block.hash == run(chain, call)[0].block.hash


def test_moving_a_precompile(chain):
    moved = "0x" + "00" * 17 + "123456"
    blocks = run(chain, {"blockStateCalls": [{
        "stateOverrides": {"0x0000000000000000000000000000000000000004": {"movePrecompileToAddress": moved}},
        "calls": [{"from": ALICE, "to": moved, "input": "0x1234"},
                  {"from": ALICE, "to": "0x0000000000000000000000000000000000000004", "input": "0x1234"}],
    }, {"calls": [{"from": ALICE, "to": "0x0000000000000000000000000000000000000004", "input": "0x1234"}]}]})
    assert blocks[0].calls[0].output == b"\x12\x34"  # identity, at its new address
    assert blocks[0].calls[1].output == b""  # the old address is an empty account now
    assert blocks[1].calls[0].output == b"\x12\x34"  # moves last one block
    with pytest.raises(SimulationError, match="is not a precompile"):
        run(chain, {"blockStateCalls": [{"stateOverrides": {BOB: {"movePrecompileToAddress": moved}}}]})


def test_bad_input_is_refused(chain):
    from domains.evm.execution import InvalidCallRequest

    with pytest.raises(InvalidCallRequest, match="blockStateCalls"):
        SimulationRequest.from_json({})
    with pytest.raises(InvalidCallRequest, match=r"blockStateCalls\[0\].calls\[0\].value"):
        SimulationRequest.from_json({"blockStateCalls": [{"calls": [{"value": "12"}]}]})
    with pytest.raises(InvalidCallRequest, match="validation"):
        SimulationRequest.from_json({"blockStateCalls": [], "validation": "yes"})
    with pytest.raises(SimulationError) as err:
        run(chain, {"blockStateCalls": []})
    assert err.value.code == -32602
