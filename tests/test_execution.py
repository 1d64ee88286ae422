"""Calls, gas estimates, access lists and proofs (domains/evm/execution.py) on a real dev chain.

One chain per module: a Vyper contract deployed twice (A and B) by signed transactions through
the node's pool, then A's value changed in a later block, so there is history to query. Tests
that send transactions only look at their own receipts; tests that read state pin a header.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
import rlp
from eth._utils.address import generate_contract_address
from eth.rlp.accounts import Account as AccountRLP
from eth_abi import encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import function_signature_to_4byte_selector, to_canonical_address, to_checksum_address
from trie import HexaryTrie
from trie.exceptions import BadTrieProof

from domains.evm import execution
from domains.evm.chain import DomainChain
from domains.evm.execution import (
    CallRequest,
    ExecutionError,
    ExecutionReverted,
    InvalidCallRequest,
    InvalidProofRequest,
    call,
    create_access_list,
    decode_revert_reason,
    estimate_gas,
    get_proof,
    next_block_header,
)
from domains.evm.genesis import DEV_ACCOUNT_BALANCE, dev_accounts, dev_genesis, parse_genesis_json
from domains.evm.node import DomainNode
from domains.evm.txpool import TxRejected
from tests.compile import vyper

ACCOUNTS = dev_accounts()
ALICE, ALICE_KEY = ACCOUNTS[0]
BOB = ACCOUNTS[1][0]
GENESIS_TIME = 1_700_000_000

# value (slot 0), counts (HashMap at slot 1: keccak(slot ++ key)), a reverting setter, a gas
# burner, a clearer (SSTORE to zero: refunds and the EIP-2200 sentry) and a nested call.
CONTRACT = """
# pragma version ^0.4.0
interface Target:
    def burn(n: uint256) -> uint256: nonpayable

value: public(uint256)
counts: public(HashMap[uint256, uint256])

@deploy
def __init__(initial: uint256):
    self.value = initial

@external
def set_value(v: uint256):
    assert v < 1000, "value too large"
    self.value = v

@external
def burn(n: uint256) -> uint256:
    for i: uint256 in range(n, bound=500):
        self.counts[i] = self.counts[i] + 1
    return n

@external
def clear(n: uint256):
    for i: uint256 in range(n, bound=500):
        self.counts[i] = 0

@external
def forward_burn(target: address, n: uint256) -> uint256:
    return extcall Target(target).burn(n)

@external
@view
def balance_of(who: address) -> uint256:
    return who.balance
"""


def selector_call(signature: str, *args) -> bytes:
    types = signature[signature.index("(") + 1:-1]
    return function_signature_to_4byte_selector(signature) + encode([t for t in types.split(",") if t], list(args))


def hexs(data: bytes) -> str:
    return "0x" + data.hex()


def counts_slot(key: int) -> int:
    return int.from_bytes(keccak((1).to_bytes(32, "big") + key.to_bytes(32, "big")), "big")


def probe_code(opcode: int) -> bytes:
    """Runtime code returning one 32-byte word: the result of `opcode` (NUMBER, BASEFEE, ...)."""
    return bytes([opcode]) + bytes.fromhex("60005260206000f3")


class World(SimpleNamespace):
    """The module's chain, node and contracts, with a helper to send transactions."""

    def send(self, *, to: bytes | None = None, data: bytes = b"", gas: int = 3_000_000, value: int = 0,
             access_list=None, key: bytes = ALICE_KEY):
        sender = Account.from_key(key).address
        tx = {"chainId": self.chain.chain_id, "nonce": self.node.next_nonce(to_canonical_address(sender)),
              "value": value, "gas": gas, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2,
              "data": data}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        if access_list is not None:
            tx["accessList"] = access_list
        self.node.submit_raw_transaction(Account.sign_transaction(tx, key).raw_transaction)
        built = self.node.produce_block(timestamp=self.chain.head().timestamp + 12)
        assert len(built.receipts) == 1, built.dropped
        return built.receipts[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    chain = DomainChain.create(tmp_path_factory.mktemp("execution") / "d", dev_genesis(timestamp=GENESIS_TIME))
    w = World(chain=chain, node=DomainNode(chain))
    _, bytecode = vyper(CONTRACT)
    alice = to_canonical_address(ALICE)
    for initial in (7, 0):
        receipt = w.send(data=bytes.fromhex(bytecode[2:]) + encode(["uint256"], [initial]))
        assert receipt.state_root == b"\x01"
    w.a = generate_contract_address(alice, 0)
    w.b = generate_contract_address(alice, 1)
    w.deployed = chain.head()
    assert w.send(to=w.a, data=selector_call("set_value(uint256)", 42)).state_root == b"\x01"
    assert w.send(to=w.a, data=selector_call("burn(uint256)", 3)).state_root == b"\x01"
    w.updated = chain.head()
    yield w
    chain.close()


def request(world_or_to, data: bytes = b"", **fields) -> CallRequest:
    to = world_or_to
    obj = {"to": hexs(to), "input": hexs(data)} if to is not None else {"input": hexs(data)}
    obj.update(fields)
    return CallRequest.from_json(obj)


def word(result) -> int:
    assert result.error is None, (result.error, result.revert)
    return int.from_bytes(result.output, "big")


def store_digest(chain: DomainChain) -> str:
    digest = hashlib.sha256()
    for key, value in chain.store.iterate():
        digest.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
    return digest.hexdigest()


# -- eth_call -----------------------------------------------------------------------------------

def test_call_reads_the_state_after_the_given_block(world):
    get_value = selector_call("value()")
    assert word(call(world.chain, request(world.a, get_value), world.updated)) == 42
    assert word(call(world.chain, request(world.a, get_value), world.deployed)) == 7
    assert word(call(world.chain, request(world.b, get_value), world.updated)) == 0
    result = call(world.chain, request(world.a, get_value), world.chain.header_by_number(0))
    assert result.success and result.output == b""  # no code at A yet
    counts = call(world.chain, request(world.a, selector_call("counts(uint256)", 2)), world.updated)
    assert word(counts) == 1


def test_call_is_free_without_fee_fields_and_charged_with_them(world):
    pauper = "0x" + "ab" * 20
    get_value = selector_call("value()")
    assert word(call(world.chain, request(world.a, get_value, **{"from": pauper}), world.updated)) == 42
    with pytest.raises(ExecutionError, match=r"^err: insufficient funds for gas \* price \+ value: address "
                                             r"0x[aA][bB].* have 0 want 20000000000000000 \(supplied gas 20000000\)$"):
        call(world.chain, request(world.a, get_value, **{"from": pauper, "gas": hex(20_000_000),
                                                         "gasPrice": hex(10**9)}), world.updated)
    # the zero address is the default sender; gas defaults to the RPC gas cap
    probe = {"0x" + "11" * 20: {"code": hexs(probe_code(0x5A))}}  # GAS
    gas_left = word(call(world.chain, request(bytes.fromhex("11" * 20)), world.updated, state_overrides=probe))
    assert execution.RPC_GAS_CAP - 21_100 < gas_left < execution.RPC_GAS_CAP - 21_000
    caller = {"0x" + "11" * 20: {"code": hexs(probe_code(0x33))}}  # CALLER
    assert word(call(world.chain, request(bytes.fromhex("11" * 20)), world.updated, state_overrides=caller)) == 0


def test_call_runs_in_the_block_context_of_the_header(world):
    probe = bytes.fromhex("11" * 20)
    chain, header = world.chain, world.updated

    def env(opcode: int | bytes, at=header, **fields) -> int:
        code = probe_code(opcode) if isinstance(opcode, int) else opcode
        overrides = {hexs(probe): {"code": hexs(code)}}
        return word(call(chain, request(probe, **fields), at, state_overrides=overrides))

    assert env(0x43) == header.block_number  # NUMBER: the block itself, as geth (call-callenv)
    assert env(0x42) == header.timestamp
    assert env(0x46) == chain.chain_id
    assert env(0x48) == 0  # BASEFEE is lowered to 0 in a free call
    assert env(0x3A) == 0  # GASPRICE
    fees = {"from": ALICE, "maxFeePerGas": hex(10**11), "maxPriorityFeePerGas": hex(7)}
    assert env(0x48, **fees) == header.base_fee_per_gas
    assert env(0x3A, **fees) == header.base_fee_per_gas + 7
    pending = next_block_header(chain, header)
    assert env(0x43, at=pending) == header.block_number + 1
    assert env(0x48, at=pending, **fees) == pending.base_fee_per_gas
    # BLOCKHASH(NUMBER - 1): the parent's hash, in both contexts
    parent_hash = bytes.fromhex("600143034060005260206000f3")
    assert env(parent_hash) == int.from_bytes(header.parent_hash, "big")
    assert env(parent_hash, at=pending) == int.from_bytes(header.hash, "big")


def test_block_overrides(world):
    probe = bytes.fromhex("11" * 20)
    header = world.updated

    def env(opcode: int, block) -> int:
        overrides = {hexs(probe): {"code": hexs(probe_code(opcode))}}
        return word(call(world.chain, request(probe), header, state_overrides=overrides, block_overrides=block))

    assert env(0x43, {"number": "0x1234"}) == 0x1234
    assert env(0x42, {"time": "0x99"}) == 0x99
    assert env(0x41, {"feeRecipient": "0x" + "22" * 20}) == int("22" * 20, 16)
    assert env(0x45, {"gasLimit": "0x7777"}) == 0x7777
    assert env(0x44, {"prevRandao": "0x" + "33" * 32}) == int("33" * 32, 16)
    # BLOCKHASH keeps reading the real ancestors when the number moves
    blockhash_parent = bytes.fromhex("7f" + f"{header.block_number - 1:064x}" + "4060005260206000f3")
    overrides = {hexs(probe): {"code": hexs(blockhash_parent)}}
    for number in (header.block_number + 5, header.block_number):
        result = call(world.chain, request(probe), header, state_overrides=overrides,
                      block_overrides={"number": hex(number)})
        assert word(result) == int.from_bytes(header.parent_hash, "big")
    with pytest.raises(InvalidCallRequest, match="beaconRoot"):
        call(world.chain, request(probe), header, block_overrides={"beaconRoot": "0x" + "00" * 32})


def test_revert_reason_and_data(world):
    result = call(world.chain, request(world.a, selector_call("set_value(uint256)", 5000)), world.updated)
    assert result.error == "execution reverted" and not result.success
    assert result.revert[:4] == bytes.fromhex("08c379a0")
    assert result.reason == "value too large"
    with pytest.raises(ExecutionReverted) as raised:
        result.raise_for_error()
    assert raised.value.message == "execution reverted: value too large" and raised.value.data == result.revert
    # other VM errors: out of gas, with geth's words
    burn = call(world.chain, request(world.a, selector_call("burn(uint256)", 50), gas=hex(60_000)), world.updated)
    assert burn.error == "out of gas" and burn.revert is None and burn.gas_used == 60_000
    invalid = call(world.chain, request(bytes.fromhex("11" * 20)), world.updated,
                   state_overrides={"0x" + "11" * 20: {"code": "0xfe"}})
    assert invalid.error == "invalid opcode: INVALID"
    underflow = call(world.chain, request(bytes.fromhex("11" * 20)), world.updated,
                     state_overrides={"0x" + "11" * 20: {"code": "0x01"}})  # ADD on an empty stack
    assert underflow.error == "stack underflow (0 <=> 2)"


def test_state_overrides(world):
    chain, header, a = world.chain, world.updated, world.a
    get_value = selector_call("value()")
    diff = {hexs(a): {"stateDiff": {"0x" + "00" * 32: "0x" + f"{99:064x}"}}}
    assert word(call(chain, request(a, get_value), header, state_overrides=diff)) == 99
    assert word(call(chain, request(a, selector_call("counts(uint256)", 1)), header, state_overrides=diff)) == 1
    replaced = {hexs(a): {"state": {"0x" + "00" * 32: "0x" + f"{5:064x}"}}}
    assert word(call(chain, request(a, get_value), header, state_overrides=replaced)) == 5
    assert word(call(chain, request(a, selector_call("counts(uint256)", 1)), header, state_overrides=replaced)) == 0
    # balance + code: the contract's code at another address reads an overridden balance
    rich, clone = "0x" + "44" * 20, bytes.fromhex("55" * 20)
    code = chain.state_at(header).get_code(a)
    balances = {rich: {"balance": hex(123_456)}, hexs(clone): {"code": hexs(code)}}
    assert word(call(chain, request(clone, selector_call("balance_of(address)", rich)), header,
                     state_overrides=balances)) == 123_456
    # nonce: a creation call lands at the address of the overridden nonce
    creator = "0x" + "66" * 20
    result = call(chain, CallRequest.from_json({"from": creator, "input": hexs(probe_code(0x30))}), header,
                  state_overrides={creator: {"nonce": "0x9"}})
    assert result.output[-20:] == generate_contract_address(bytes.fromhex("66" * 20), 9)
    # overrides never reach the chain
    assert word(call(chain, request(a, get_value), header)) == 42
    with pytest.raises(InvalidCallRequest, match="both 'state' and 'stateDiff'"):
        call(chain, request(a, get_value), header,
             state_overrides={hexs(a): {"state": {}, "stateDiff": {}}})
    with pytest.raises(InvalidCallRequest) as raised:
        call(chain, request(a, get_value), header, state_overrides={hexs(a): {"balance": "12"}})
    assert "balance" in raised.value.field


def test_overridden_storage_counts_as_the_original_value(world):
    """EIP-2200/3529 prices an SSTORE by the slot's value before the transaction: overrides
    act as a transaction sealed before the call, so a reset costs the same as on-chain."""
    chain, header, a = world.chain, world.updated, world.a
    write = request(a, selector_call("set_value(uint256)", 5), **{"from": ALICE})
    plain = call(chain, write, header).gas_used  # 42 -> 5: a reset
    overridden = call(chain, write, header, state_overrides={hexs(a): {"stateDiff": {"0x0": hex(99)}}}).gas_used
    assert overridden == plain
    created = call(chain, request(world.b, selector_call("set_value(uint256)", 5), **{"from": ALICE}), header,
                   state_overrides={hexs(world.b): {"stateDiff": {"0x0": hex(1)}}}).gas_used
    assert created == plain  # B's slot is 0 on chain, 1 after the override: also a reset, not a set


def test_call_refusals_use_geth_messages(world):
    header = world.updated
    with pytest.raises(ExecutionError, match=r"^err: intrinsic gas too low: have 20999, want 21000 "):
        call(world.chain, request(bytes.fromhex(BOB[2:]), gas=hex(20_999)), header)
    with pytest.raises(ExecutionError, match="max fee per gas less than block base fee"):
        call(world.chain, request(world.a, **{"from": ALICE, "maxFeePerGas": "0x1"}), header)
    with pytest.raises(ExecutionError, match="max priority fee per gas higher than max fee per gas"):
        call(world.chain, request(world.a, **{"from": ALICE, "maxFeePerGas": hex(10**10),
                                              "maxPriorityFeePerGas": hex(10**11)}), header)
    with pytest.raises(InvalidCallRequest, match="chainId does not match"):
        call(world.chain, request(world.a, chainId="0x1"), header)


# -- eth_estimateGas ----------------------------------------------------------------------------

def test_estimate_plain_transfer_is_21000(world):
    req = CallRequest.from_json({"from": ALICE, "to": BOB, "value": "0x1"})
    assert estimate_gas(world.chain, req, world.updated) == 21_000
    receipt = world.send(to=to_canonical_address(BOB), value=1, gas=21_000)
    assert receipt.state_root == b"\x01"
    with pytest.raises(TxRejected, match="intrinsic gas too low"):
        world.send(to=to_canonical_address(BOB), value=1, gas=20_999)
    with pytest.raises(ExecutionError, match="intrinsic gas too low"):
        call(world.chain, CallRequest.from_json({"from": ALICE, "to": BOB, "value": "0x1", "gas": hex(20_999)}),
             world.chain.head())


def assert_minimal_on_chain(world, to: bytes, data: bytes) -> int:
    """Estimate at the head; a transaction with the estimate succeeds, one with a unit less
    fails (both actually sent and sealed). Returns the estimate."""
    head = world.chain.head()
    estimate = estimate_gas(world.chain, CallRequest.from_json({"from": ALICE, "to": hexs(to), "input": hexs(data)}),
                            head)
    assert world.chain.head() == head
    too_little = world.send(to=to, data=data, gas=estimate - 1)
    assert too_little.state_root == b""
    enough = world.send(to=to, data=data, gas=estimate)
    assert enough.state_root == b"\x01"
    return estimate


def test_estimate_storage_write_is_minimal(world):
    estimate = assert_minimal_on_chain(world, world.a, selector_call("set_value(uint256)", 77))
    assert 21_000 < estimate < 50_000


def test_estimate_nested_call_keeps_the_64th(world):
    data = selector_call("forward_burn(address,uint256)", world.b, 6)
    used = call(world.chain, request(world.a, data, **{"from": ALICE}), world.chain.head()).gas_used
    estimate = assert_minimal_on_chain(world, world.a, data)
    # EIP-150: the caller keeps 1/64 of its gas, so the limit must exceed what is used
    assert estimate > used + 2_000


def test_estimate_with_refunds_and_the_sstore_sentry(world):
    world.send(to=world.a, data=selector_call("burn(uint256)", 4))
    data = selector_call("clear(uint256)", 4)
    used = call(world.chain, request(world.a, data, **{"from": ALICE}), world.chain.head()).gas_used
    estimate = assert_minimal_on_chain(world, world.a, data)
    assert estimate > used  # refunds lower the gas used, not the gas needed


def test_estimate_is_two_executions_for_a_storage_write(world, monkeypatch):
    runs = []
    original = execution._Session.run

    def counted(self, gas, *args, **kwargs):
        runs.append(gas)
        return original(self, gas, *args, **kwargs)

    monkeypatch.setattr(execution._Session, "run", counted)
    estimate = estimate_gas(world.chain, request(world.a, selector_call("set_value(uint256)", 9), **{"from": ALICE}),
                            world.updated)
    assert runs == [world.updated.gas_limit, estimate]


def test_estimate_reverting_call(world):
    req = request(world.a, selector_call("set_value(uint256)", 1000), **{"from": ALICE})
    with pytest.raises(ExecutionReverted) as raised:
        estimate_gas(world.chain, req, world.updated)
    assert raised.value.reason == "value too large"
    assert raised.value.message == "execution reverted: value too large"
    assert decode_revert_reason(raised.value.data) == "value too large"


def test_estimate_failures(world):
    chain, header = world.chain, world.updated
    poor_key = b"\x01" * 32
    poor = Account.from_key(poor_key).address
    world.send(to=to_canonical_address(poor), value=10**15, gas=21_000)
    head = chain.head()
    fee = {"from": poor, "maxFeePerGas": hex(10**11)}
    # 10^15 wei at 10^11 per gas pays for 10,000 gas: less than any transaction needs
    with pytest.raises(ExecutionError, match=r"^gas required exceeds allowance \(10000\)$"):
        estimate_gas(chain, request(world.a, selector_call("set_value(uint256)", 1), **fee), head)
    with pytest.raises(ExecutionError, match="^insufficient funds for transfer$"):
        estimate_gas(chain, request(world.a, value=hex(10**16), **fee), head)
    # without fee fields, the same sender estimates freely
    free = request(world.a, selector_call("set_value(uint256)", 1), **{"from": poor})
    assert estimate_gas(chain, free, head) > 21_000
    # out of gas at the cap
    with pytest.raises(ExecutionError, match=r"^gas required exceeds allowance \(100000\)$"):
        estimate_gas(chain, request(world.a, selector_call("burn(uint256)", 50), **{"from": ALICE}), header,
                     gas_cap=100_000)
    # other VM errors come back as they are
    with pytest.raises(ExecutionError, match="^invalid opcode: INVALID$"):
        estimate_gas(chain, request(bytes.fromhex("11" * 20), b"\x01"), header,
                     state_overrides={"0x" + "11" * 20: {"code": "0xfe"}})


def test_estimate_includes_the_calldata_floor(world):
    # EIP-7623: 1 KiB of non-zero calldata to a contract that ignores it costs the floor
    data = b"\xff" * 1024
    sink = "0x" + "77" * 20
    estimate = estimate_gas(world.chain, CallRequest.from_json({"from": ALICE, "to": sink, "input": hexs(data)}),
                            world.updated, state_overrides={sink: {"code": "0x00"}})
    assert estimate == 21_000 + 10 * 4 * len(data)


# -- eth_createAccessList -----------------------------------------------------------------------

def test_access_list_of_storage_and_nested_calls(world):
    chain, header = world.chain, world.updated
    listed = create_access_list(chain, request(world.a, selector_call("set_value(uint256)", 3), **{"from": ALICE}),
                                header)
    assert listed.error is None
    assert listed.access_list == ((world.a, ((0).to_bytes(32, "big"),)),)
    data = selector_call("forward_burn(address,uint256)", world.b, 2)
    nested = create_access_list(chain, request(world.a, data, **{"from": ALICE}), header)
    assert nested.access_list == (
        (world.b, tuple(sorted(counts_slot(i).to_bytes(32, "big") for i in range(2)))),)
    json = nested.to_json()
    assert json["accessList"][0]["address"] == hexs(world.b) and json["gasUsed"] == hex(nested.gas_used)
    # a reverting call still yields its list, and the error
    reverted = create_access_list(chain, request(world.a, selector_call("set_value(uint256)", 5000)), header)
    assert reverted.error == "execution reverted" and reverted.access_list == ()
    # sent with the list, the transaction uses the gas reported
    head = chain.head()
    listed_now = create_access_list(chain, request(world.a, data, **{"from": ALICE}), head)
    receipt = world.send(to=world.a, data=data, access_list=listed_now.to_json()["accessList"])
    assert receipt.state_root == b"\x01" and receipt.gas_used == listed_now.gas_used


def test_access_list_excludes_sender_recipient_and_precompiles(world):
    # code that reads BALANCE of the sender, itself, the ecrecover precompile and one other account
    other = "88" * 20
    code = bytes.fromhex("33" "31" "50"  # CALLER BALANCE POP
                         "30" "31" "50"  # ADDRESS BALANCE POP
                         "6001" "31" "50"  # 0x01 BALANCE POP
                         "73" + other + "31" "50"  # other BALANCE POP
                         "00")
    probe = "0x" + "99" * 20
    listed = create_access_list(world.chain, CallRequest.from_json({"from": ALICE, "to": probe}), world.updated,
                                state_overrides={probe: {"code": hexs(code)}})
    assert listed.access_list == ((bytes.fromhex(other), ()),)


# -- older forks and EIP-7702 -------------------------------------------------------------------

HIVE_SENDER = "0x0c2c51a0990aee1d73c1228de158688341557508"  # the sender of the execution-apis fixtures
OLD_FORKS_GENESIS = {
    "config": {"chainId": 4242, "homesteadBlock": 1, "eip150Block": 2, "eip155Block": 3, "eip158Block": 3,
               "byzantiumBlock": 4, "constantinopleBlock": 5, "petersburgBlock": 5, "istanbulBlock": 6,
               "berlinBlock": 7, "londonBlock": 8},
    "alloc": {ALICE: {"balance": hex(10**21)}, HIVE_SENDER: {"balance": hex(10**21)},
              # PUSH1 1 PUSH1 1 SSTORE: sets slot 1
              "0x00000000000000000000000000000000000000aa": {"code": "0x6001600155"}},
    "gasLimit": "0x1c9c380", "difficulty": "0x20000", "timestamp": hex(GENESIS_TIME), "extraData": "0x",
}


@pytest.fixture(scope="module")
def old_chain(tmp_path_factory):
    chain = DomainChain.create(tmp_path_factory.mktemp("old") / "d", parse_genesis_json(OLD_FORKS_GENESIS))
    for _ in range(9):
        chain.build_block([], timestamp=chain.head().timestamp + 13)
    yield chain
    chain.close()


def test_calls_on_blocks_of_older_forks(old_chain):
    chain = old_chain
    assert [chain.fork_of(n) for n in (0, 1, 6, 7, 8)] == ["frontier", "homestead", "istanbul", "berlin", "london"]
    sstore = bytes.fromhex("00" * 19 + "aa")
    # SSTORE from zero costs 20000 at every fork; Berlin adds the cold-slot access (2100)
    for number, expected in ((0, 21_000 + 20_000 + 6), (6, 21_000 + 20_000 + 6), (7, 21_000 + 22_100 + 6),
                             (8, 21_000 + 22_100 + 6)):
        header = chain.header_by_number(number)
        req = CallRequest.from_json({"from": ALICE, "to": hexs(sstore)})
        estimate = estimate_gas(chain, req, header)
        assert estimate >= expected
        at = call(chain, CallRequest.from_json({"from": ALICE, "to": hexs(sstore), "gas": hex(estimate)}), header)
        below = call(chain, CallRequest.from_json({"from": ALICE, "to": hexs(sstore), "gas": hex(estimate - 1)}),
                     header)
        assert at.success and at.gas_used == expected and below.error is not None
        assert estimate_gas(chain, CallRequest.from_json({"from": ALICE, "to": BOB}), header) == 21_000
        proof = get_proof(chain, ALICE, [], header)
        assert HexaryTrie.get_from_proof(header.state_root, keccak(to_canonical_address(ALICE)),
                                         nodes(proof["accountProof"]))


def test_fields_of_inactive_forks_are_refused_as_geth_does(old_chain):
    # the execution-apis fixtures eth_call/call-fork-inactive-access-list, -priority-fee and
    # call-gas-price-before-london, on this chain's Istanbul block
    istanbul = old_chain.header_by_number(6)
    fixture_to = "0x0100000000000000000000000000000000000000"
    with pytest.raises(ExecutionError) as raised:
        call(old_chain, CallRequest.from_json({"accessList": [], "from": HIVE_SENDER, "to": fixture_to}), istanbul)
    assert raised.value.message == ("err: transaction type not supported: access list tx (sender "
                                    "0x0c2c51a0990AeE1d73C1228de158688341557508) (supplied gas 50000000)")
    for fees in ({"maxPriorityFeePerGas": "0x3b9aca00"}, {"maxFeePerGas": "0x0", "maxPriorityFeePerGas": "0x0"}):
        with pytest.raises(ExecutionError) as raised:
            call(old_chain, CallRequest.from_json({"from": HIVE_SENDER, "to": fixture_to, **fees}), istanbul)
        assert raised.value.message == "maxFeePerGas and maxPriorityFeePerGas are not valid before London is active"
    priced = call(old_chain, CallRequest.from_json({"from": HIVE_SENDER, "gas": "0x5208", "gasPrice": "0x3b9aca00",
                                                    "to": fixture_to}), istanbul)
    assert priced.success and priced.output == b""
    with pytest.raises(ExecutionError, match="transaction type not supported: setcode tx"):
        call(old_chain, CallRequest.from_json({"from": HIVE_SENDER, "to": fixture_to, "authorizationList": [
            {"chainId": "0x0", "address": fixture_to, "nonce": "0x0", "yParity": "0x0", "r": "0x0", "s": "0x0"}]}),
             istanbul)


def test_authorization_list_delegates_for_the_call(world):
    bob_key = ACCOUNTS[1][1]
    header = world.updated
    bob_nonce = world.chain.state_at(header).get_nonce(to_canonical_address(BOB))

    def authorization(chain_id: int) -> dict:
        signed = Account.sign_authorization({"chainId": chain_id, "address": hexs(world.a), "nonce": bob_nonce},
                                            bob_key)
        return {"chainId": hex(signed.chain_id), "address": hexs(signed.address), "nonce": hex(signed.nonce),
                "yParity": hex(signed.y_parity), "r": hex(signed.r), "s": hex(signed.s)}

    get_value = hexs(selector_call("value()"))
    plain = call(world.chain, CallRequest.from_json({"from": ALICE, "to": BOB, "input": get_value}), header)
    assert plain.success and plain.output == b""  # an EOA: nothing runs
    delegated_request = CallRequest.from_json({"from": ALICE, "to": BOB, "input": get_value,
                                               "authorizationList": [authorization(world.chain.chain_id)]})
    delegated = call(world.chain, delegated_request, header)
    assert word(delegated) == 0  # A's code, on Bob's (empty) storage
    wrong_chain = call(world.chain, CallRequest.from_json({"from": ALICE, "to": BOB, "input": get_value,
                                                           "authorizationList": [authorization(1)]}), header)
    assert wrong_chain.success and wrong_chain.output == b""  # an invalid authorization is skipped
    estimate = estimate_gas(world.chain, delegated_request, header)
    assert estimate > 21_000 + 25_000  # every authorization pays PER_EMPTY_ACCOUNT_COST up front
    assert call(world.chain, CallRequest.from_json({**{"from": ALICE, "to": BOB, "input": get_value,
                                                       "authorizationList": [authorization(world.chain.chain_id)]},
                                                    "gas": hex(estimate - 1)}), header).error is not None
    with pytest.raises(ExecutionError, match="EIP-7702 transaction with empty auth list"):
        call(world.chain, CallRequest.from_json({"from": ALICE, "to": BOB, "authorizationList": []}), header)


# -- eth_getProof -------------------------------------------------------------------------------

def nodes(proof: list[str]) -> list:
    return [rlp.decode(bytes.fromhex(node[2:])) for node in proof]


def verify_account(proof: dict, header, address: bytes) -> bytes:
    return HexaryTrie.get_from_proof(header.state_root, keccak(address), nodes(proof["accountProof"]))


def test_proofs_verify_against_the_state_root(world):
    chain = world.chain
    for header, expected_value in ((world.updated, 42), (world.deployed, 7)):
        keys = ["0x0", "0x" + f"{counts_slot(1):064x}", "0x05"]
        proof = get_proof(chain, world.a, keys, header)
        state = chain.state_at(header)
        encoded = verify_account(proof, header, world.a)
        account = rlp.decode(encoded, sedes=AccountRLP)
        assert proof["balance"] == hex(account.balance) == hex(state.get_balance(world.a))
        assert proof["nonce"] == hex(account.nonce) == "0x1"
        assert proof["codeHash"] == hexs(account.code_hash) == hexs(keccak(state.get_code(world.a)))
        assert proof["storageHash"] == hexs(account.storage_root)
        assert [entry["key"] for entry in proof["storageProof"]] == ["0x0", keys[1], "0x5"]
        values = []
        for entry, slot in zip(proof["storageProof"], (0, counts_slot(1), 5)):
            key = keccak(slot.to_bytes(32, "big"))
            raw = HexaryTrie.get_from_proof(account.storage_root, key, nodes(entry["proof"]))
            decoded = rlp.decode(raw, sedes=rlp.sedes.big_endian_int) if raw else 0
            assert entry["value"] == hex(decoded) == hex(state.get_storage(world.a, slot))
            values.append(decoded)
        assert values[0] == expected_value and values[2] == 0  # slot 5 is absent: a proof of absence
        assert values[1] == (1 if header is world.updated else 0)


def test_proof_of_an_absent_account_and_of_an_account_without_storage(world):
    header = world.updated
    nobody = bytes.fromhex("ee" * 20)
    proof = get_proof(world.chain, nobody, ["0x" + "00" * 32], header)
    assert proof["accountProof"] and verify_account(proof, header, nobody) == b""
    assert proof["balance"] == "0x0" and proof["nonce"] == "0x0"
    assert proof["codeHash"] == proof["storageHash"] == "0x" + "00" * 32
    assert proof["storageProof"] == [{"key": "0x" + "00" * 32, "value": "0x0", "proof": []}]
    alice = to_canonical_address(ALICE)
    mine = get_proof(world.chain, ALICE, [], header)
    account = rlp.decode(verify_account(mine, header, alice), sedes=AccountRLP)
    assert int(mine["balance"], 16) == account.balance < DEV_ACCOUNT_BALANCE
    assert mine["storageHash"] == "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
    assert mine["codeHash"] == "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_tampered_proofs_fail(world):
    header = world.updated
    proof = get_proof(world.chain, world.a, ["0x0"], header)
    with pytest.raises(BadTrieProof):
        HexaryTrie.get_from_proof(header.state_root, keccak(world.a), nodes(proof["accountProof"][:-1]))
    other = world.chain.header_by_number(1)
    with pytest.raises(BadTrieProof):
        HexaryTrie.get_from_proof(other.state_root, keccak(world.a), nodes(proof["accountProof"]))


def test_proof_request_errors(world):
    with pytest.raises(InvalidProofRequest, match="too many storage keys"):
        get_proof(world.chain, world.a, ["0x0"] * 1025, world.updated)
    with pytest.raises(InvalidProofRequest, match="too long"):
        get_proof(world.chain, world.a, ["0x" + "00" * 33], world.updated)
    with pytest.raises(InvalidProofRequest, match="invalid hex"):
        get_proof(world.chain, world.a, ["0xzz"], world.updated)
    with pytest.raises(InvalidProofRequest):
        get_proof(world.chain, "0x1234", [], world.updated)


# -- nothing is written -------------------------------------------------------------------------

def test_executions_never_write_to_the_store(world):
    chain = world.chain
    before = store_digest(chain)
    data = selector_call("forward_burn(address,uint256)", world.b, 3)
    req = request(world.a, data, **{"from": ALICE})
    call(chain, req, chain.head(), state_overrides={hexs(world.a): {"balance": "0x1"}})
    estimate_gas(chain, req, chain.head())
    create_access_list(chain, req, chain.head())
    get_proof(chain, world.a, ["0x0"], chain.head())
    call(chain, req, next_block_header(chain))
    assert store_digest(chain) == before


# -- parsing and revert decoding ----------------------------------------------------------------

def test_call_request_from_json():
    req = CallRequest.from_json({
        "from": ALICE, "to": BOB.lower(), "gas": "0x5208", "maxFeePerGas": "0x10", "maxPriorityFeePerGas": "0x1",
        "value": "0x0", "data": "0xabcd", "input": "0xabcd", "nonce": "0x3", "type": "0x2", "chainId": "0x84c599",
        "accessList": [{"address": BOB, "storageKeys": ["0x" + "00" * 31 + "05"]}],
        "authorizationList": [{"chainId": "0x0", "address": BOB, "nonce": "0x0", "yParity": "0x1", "r": "0x2",
                               "s": "0x3"}],
        "somethingElse": 1,
    })
    assert req.sender == to_canonical_address(ALICE) and req.to == to_canonical_address(BOB)
    assert (req.gas, req.max_fee_per_gas, req.max_priority_fee_per_gas, req.nonce) == (21000, 16, 1, 3)
    assert req.data == b"\xab\xcd" and req.access_list == ((to_canonical_address(BOB), (5,)),)
    assert req.authorization_list[0].y_parity == 1 and req.chain_id == 8701337
    assert CallRequest.from_json({}).to is None and CallRequest.from_json({"data": "0x01"}).data == b"\x01"


@pytest.mark.parametrize("obj, field, message", [
    ({"gas": "21000"}, "gas", "without 0x prefix"),
    ({"gas": 21000}, "gas", "hex string"),
    ({"gas": "0x"}, "gas", "empty"),
    ({"gas": "0x1_0"}, "gas", "invalid hex"),
    ({"gas": "0x10000000000000000"}, "gas", "64 bits"),
    ({"value": "0xg"}, "value", "invalid hex"),
    ({"to": "0x1234"}, "to", "20 bytes"),
    ({"from": "0x" + "zz" * 20}, "from", "invalid hex"),
    ({"data": "0xabc"}, "data", "odd length"),
    ({"data": "0x01", "input": "0x02"}, "input", "not equal"),
    ({"gasPrice": "0x1", "maxFeePerGas": "0x1"}, "gasPrice", "both gasPrice"),
    ({"accessList": [{"address": BOB}]}, "accessList[0].storageKeys", "missing"),
    ({"accessList": [{"address": BOB, "storageKeys": ["0x01"]}]}, "accessList[0].storageKeys[0]", "32 bytes"),
    ({"authorizationList": [{"address": BOB}]}, "authorizationList[0].chainId", "missing"),
    ({"blobVersionedHashes": ["0x01" + "00" * 31]}, "blobVersionedHashes", "not supported"),
])
def test_call_request_errors_name_the_field(obj, field, message):
    with pytest.raises(InvalidCallRequest) as raised:
        CallRequest.from_json(obj)
    assert raised.value.field == field and message in str(raised.value)


def test_decode_revert_reason():
    # the execution-apis fixtures eth_call/call-revert-abi-error and call-revert-abi-panic
    error = bytes.fromhex("08c379a0" + "20".rjust(64, "0") + "a".rjust(64, "0") + "75736572206572726f72".ljust(64, "0"))
    assert decode_revert_reason(error) == "user error"
    assert decode_revert_reason(bytes.fromhex("4e487b71" + "1".rjust(64, "0"))) == "assert(false)"
    assert decode_revert_reason(bytes.fromhex("4e487b71" + "11".rjust(64, "0"))) == "arithmetic underflow or overflow"
    assert decode_revert_reason(bytes.fromhex("4e487b71" + "99".rjust(64, "0"))) == "unknown panic code: 0x99"
    assert decode_revert_reason(keccak(b"TooBig(uint256,uint256)")[:4] + encode(["uint256", "uint256"], [1, 2])) is None
    assert decode_revert_reason(b"") is None and decode_revert_reason(b"\x08\xc3\x79\xa0\x00") is None
    assert decode_revert_reason(bytes.fromhex("77726f6e672d63616c6c6461746173697a65")) is None
