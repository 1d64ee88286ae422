"""AgentRegistry (contracts/AgentRegistry.sol; issue 5, spec domains.md §5.4): agents owned by
Auto IDs, permissions (target, selector, budget, expiry) and their revocation, the memory chain,
and the tool registry with semver versions.

In process on a DomainChain with the mock AutoId of tests/test_data_compensation.py; then
through web3.py against the running dev node (a fresh deployment, and the predeploy at
0xA070…0004 when the dev genesis has it).
"""

from __future__ import annotations

import pytest
from eth._utils.address import generate_contract_address
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import function_signature_to_4byte_selector, keccak, to_canonical_address, to_checksum_address

from tests.compile import SOLC
from tests.test_data_compensation import ACCOUNTS, Evm, _abi_types, _send_all, contract_artifacts, expect_revert, real_auto_id

pytestmark = pytest.mark.skipif(not SOLC.exists(), reason="tools/solc/bin/solc missing: run `make test`, which installs it")

AGENT_REGISTRY_ADDRESS = "0xA070000000000000000000000000000000000004"
KEYS = [key for _, key in ACCOUNTS]
ADDRS = [addr for addr, _ in ACCOUNTS]
DEPLOYER_KEY, OWNER_KEY, OTHER_KEY, TARGET_KEY = KEYS[0], KEYS[1], KEYS[2], KEYS[3]
OWNER, OTHER, TARGET = ADDRS[1], ADDRS[2], ADDRS[3]
OWNER_ID, OTHER_ID = keccak(text="owner-id"), keccak(text="other-id")
SWAP = function_signature_to_4byte_selector("swap(uint256,uint256)")
STAKE = function_signature_to_4byte_selector("stake()")
ZERO = b"\0" * 32


def new_agent(n: int) -> Account:
    return Account.from_key(keccak(text=f"agent-key-{n}"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    evm = Evm(tmp_path_factory.mktemp("agent-registry") / "d")
    art = contract_artifacts("AgentRegistry.sol")
    evm.auto_id = evm.deploy(DEPLOYER_KEY, *art["MockAutoId"])
    evm.reg = evm.deploy(DEPLOYER_KEY, *art["AgentRegistry"], ("address", evm.auto_id.address))
    evm.block([(DEPLOYER_KEY, evm.auto_id.address, evm.auto_id.encode("link", OWNER_ID, OWNER), 0),
               (DEPLOYER_KEY, evm.auto_id.address, evm.auto_id.encode("link", OTHER_ID, OTHER), 0)])
    yield evm
    evm.close()


def consent(world, agent: Account, owner_id: bytes) -> bytes:
    digest = world.view(world.reg, "registrationDigest", agent.address, owner_id)
    return Account.sign_message(encode_defunct(primitive=digest), agent.key).signature


def register_agent(world, n: int, owner_key=OWNER_KEY, owner_id=OWNER_ID, gas_label=None) -> Account:
    agent = new_agent(n)
    world.transact(owner_key, world.reg, "registerAgent", agent.address, owner_id, keccak(text=f"character-{n}"),
                   consent(world, agent, owner_id), gas_label=gas_label)
    return agent


def now(world) -> int:
    return world.chain.head().timestamp


def allowed(world, agent, target=TARGET, selector=SWAP, value=0) -> bool:
    return world.view(world.reg, "isAllowed", agent.address, target, selector, value)


# -- agents ---------------------------------------------------------------------------------

def test_register_an_agent_with_its_consent(world):
    agent = new_agent(1)
    signature = consent(world, agent, OWNER_ID)
    with expect_revert("NotController"):
        world.transact(OTHER_KEY, world.reg, "registerAgent", agent.address, OWNER_ID, ZERO, signature)
    with expect_revert("BadAgentSignature"):  # no signature
        world.transact(OWNER_KEY, world.reg, "registerAgent", agent.address, OWNER_ID, ZERO, b"")
    with expect_revert("BadAgentSignature"):  # signed for another owner id
        world.transact(OWNER_KEY, world.reg, "registerAgent", agent.address, OWNER_ID, ZERO,
                       consent(world, agent, OTHER_ID))
    receipt = world.transact(OWNER_KEY, world.reg, "registerAgent", agent.address, OWNER_ID,
                             keccak(text="character-1"), signature, gas_label="register an agent")
    [event] = world.reg.logs(receipt, "AgentRegistered")
    assert event["ownerId"] == OWNER_ID and event["characterHash"] == keccak(text="character-1")
    owner_id, character, registered_at, epoch = world.view(world.reg, "getAgent", agent.address)
    assert (owner_id, character, registered_at, epoch) == (OWNER_ID, keccak(text="character-1"), now(world), 0)
    with expect_revert("AgentAlreadyRegistered"):
        world.transact(OTHER_KEY, world.reg, "registerAgent", agent.address, OTHER_ID, ZERO,
                       consent(world, agent, OTHER_ID))
    with expect_revert("NotController"):
        world.transact(OTHER_KEY, world.reg, "setCharacterHash", agent.address, ZERO)
    world.transact(OWNER_KEY, world.reg, "setCharacterHash", agent.address, keccak(text="v2"))
    assert world.view(world.reg, "getAgent", agent.address)[1] == keccak(text="v2")


def test_an_agent_registers_itself_when_it_controls_the_owner_id(world):
    agent_key, agent = KEYS[4], ADDRS[4]
    agent_id = keccak(text="self-agent-id")
    with expect_revert("NotController"):
        world.transact(agent_key, world.reg, "registerAgent", agent, agent_id, ZERO, b"")
    world.transact(DEPLOYER_KEY, world.auto_id, "link", agent_id, agent)
    world.transact(agent_key, world.reg, "registerAgent", agent, agent_id, ZERO, b"")
    assert world.view(world.reg, "getAgent", agent)[0] == agent_id


# -- permissions ----------------------------------------------------------------------------

def test_permission_checks_target_selector_budget_and_expiry(world):
    agent = register_agent(world, 10)
    expiry = now(world) + 1000
    assert not allowed(world, agent)
    with expect_revert("NotController"):
        world.transact(OTHER_KEY, world.reg, "grantPermission", agent.address, TARGET, SWAP, 500, expiry)
    with expect_revert("ExpiryInThePast"):
        world.transact(OWNER_KEY, world.reg, "grantPermission", agent.address, TARGET, SWAP, 500, now(world))
    receipt = world.transact(OWNER_KEY, world.reg, "grantPermission", agent.address, TARGET, SWAP, 500, expiry,
                             gas_label="grant a permission")
    assert world.reg.logs(receipt, "PermissionGranted")[0]["expiry"] == expiry
    assert allowed(world, agent, value=0) and allowed(world, agent, value=500)
    assert not allowed(world, agent, value=501)  # over the budget
    assert not allowed(world, agent, target=OTHER)  # another target
    assert not allowed(world, agent, selector=STAKE)  # another function
    assert not world.view(world.reg, "isAllowed", new_agent(99).address, TARGET, SWAP, 0)  # unregistered
    assert world.view(world.reg, "getPermission", agent.address, TARGET, SWAP) == (500, expiry, True)
    world.block([], advance=expiry - now(world) - 1)
    assert allowed(world, agent)  # one second before expiry
    world.block([], advance=1)
    assert not allowed(world, agent)  # from the expiry on: void


def test_revocation_one_grant_all_grants_and_the_owner_id(world):
    agent = register_agent(world, 11)
    expiry = now(world) + 10**6
    world.block([(OWNER_KEY, world.reg.address, world.reg.encode("grantPermission", agent.address, TARGET, sel, 0, expiry), 0)
                 for sel in (SWAP, STAKE)])
    assert allowed(world, agent, selector=SWAP) and allowed(world, agent, selector=STAKE)
    with expect_revert("NotController"):
        world.transact(OTHER_KEY, world.reg, "revokePermission", agent.address, TARGET, SWAP)
    receipt = world.transact(OWNER_KEY, world.reg, "revokePermission", agent.address, TARGET, SWAP)
    assert world.reg.logs(receipt, "PermissionRevoked")[0]["selector"] == SWAP
    assert not allowed(world, agent, selector=SWAP) and allowed(world, agent, selector=STAKE)
    with expect_revert("NoSuchPermission"):
        world.transact(OWNER_KEY, world.reg, "revokePermission", agent.address, TARGET, SWAP)
    world.transact(OWNER_KEY, world.reg, "revokeAllPermissions", agent.address)
    assert not allowed(world, agent, selector=STAKE)
    assert world.view(world.reg, "getPermission", agent.address, TARGET, STAKE)[2] is False
    # a fresh grant after revoke-all works
    world.transact(OWNER_KEY, world.reg, "grantPermission", agent.address, TARGET, STAKE, 0, expiry)
    assert allowed(world, agent, selector=STAKE)
    # the owner Auto ID going inactive suspends every grant, coming back restores them
    world.transact(DEPLOYER_KEY, world.auto_id, "setActive", OWNER_ID, False)
    assert not allowed(world, agent, selector=STAKE)
    world.transact(DEPLOYER_KEY, world.auto_id, "setActive", OWNER_ID, True)
    assert allowed(world, agent, selector=STAKE)
    # deregistering kills the grants for good, even if the agent is registered again
    world.transact(OWNER_KEY, world.reg, "deregisterAgent", agent.address)
    assert not allowed(world, agent, selector=STAKE)
    world.transact(OWNER_KEY, world.reg, "registerAgent", agent.address, OWNER_ID, ZERO, consent(world, agent, OWNER_ID))
    assert not allowed(world, agent, selector=STAKE)


def test_a_target_consumes_a_cumulative_budget(world):
    agent = register_agent(world, 12)
    world.transact(OWNER_KEY, world.reg, "grantPermission", agent.address, TARGET, SWAP, 1000, now(world) + 10**6)
    # the target itself (here an EOA: msg.sender is the target) spends from the budget
    receipt = world.transact(TARGET_KEY, world.reg, "consume", agent.address, SWAP, 600)
    assert world.reg.logs(receipt, "PermissionConsumed")[0]["budgetLeft"] == 400
    assert allowed(world, agent, value=400) and not allowed(world, agent, value=401)
    with expect_revert("NotAllowed"):
        world.transact(TARGET_KEY, world.reg, "consume", agent.address, SWAP, 401)
    with expect_revert("NotAllowed"):  # another caller is another target
        world.transact(OTHER_KEY, world.reg, "consume", agent.address, SWAP, 1)
    world.transact(TARGET_KEY, world.reg, "consume", agent.address, SWAP, 400)
    assert allowed(world, agent, value=0) and not allowed(world, agent, value=1)


# -- memory ---------------------------------------------------------------------------------

def test_the_memory_chain(world):
    agent = register_agent(world, 20)
    world.transact(DEPLOYER_KEY, agent.address, b"", value=10**18)  # gas money for the agent
    memories = [keccak(text=f"memory-{i}") for i in range(4)]
    assert world.view(world.reg, "getLastMemoryHash", agent.address) == ZERO
    # the agent itself appends the first memory, its owner the second
    receipt = world.transact(agent.key, world.reg, "appendMemory", agent.address, memories[0], ZERO,
                             gas_label="append a memory (first)")
    assert world.reg.logs(receipt, "MemoryAppended") == [
        {"agent": agent.address, "index": 0, "memoryHash": memories[0], "previousHash": ZERO}]
    world.transact(OWNER_KEY, world.reg, "appendMemory", agent.address, memories[1], memories[0],
                   gas_label="append a memory")
    with expect_revert("StaleMemoryHead"):  # a writer that missed memory 1 cannot fork the chain
        world.transact(agent.key, world.reg, "appendMemory", agent.address, memories[2], memories[0])
    with expect_revert("MemoryAlreadyInChain"):
        world.transact(agent.key, world.reg, "appendMemory", agent.address, memories[0], memories[1])
    with expect_revert("EmptyMemoryHash"):
        world.transact(agent.key, world.reg, "appendMemory", agent.address, ZERO, memories[1])
    with expect_revert("NotAgentOrOwner"):
        world.transact(OTHER_KEY, world.reg, "appendMemory", agent.address, memories[2], memories[1])
    world.transact(agent.key, world.reg, "appendMemory", agent.address, memories[2], memories[1])
    receipt = world.transact(agent.key, world.reg, "appendMemory", agent.address, memories[3], memories[2])
    assert world.reg.logs(receipt, "MemoryAppended")[0]["index"] == 3
    assert world.view(world.reg, "memoryCount", agent.address) == 4
    # walk the chain back from the head
    walked, cursor = [], world.view(world.reg, "getLastMemoryHash", agent.address)
    while cursor != ZERO:
        walked.append(cursor)
        cursor = world.view(world.reg, "previousMemory", agent.address, cursor)
    assert walked == memories[::-1]
    with expect_revert("AgentNotRegistered"):  # an unregistered address has no chain
        world.transact(OTHER_KEY, world.reg, "appendMemory", OTHER, memories[0], ZERO)


# -- tools ----------------------------------------------------------------------------------

def version(world, tool_id):
    major, minor, patch, _, cid, meta = world.view(world.reg, "getLatestVersion", tool_id)
    return (major, minor, patch), cid, meta


def test_tools_semver_versions_and_ownership(world):
    cid = [keccak(text=f"cid-{i}") for i in range(5)]
    receipt = world.transact(OWNER_KEY, world.reg, "registerTool", "web-search", 1, 9, 0, cid[0], keccak(text="meta"),
                             gas_label="register a tool")
    tool_id = keccak(text="web-search")
    assert world.view(world.reg, "toolIdOf", "web-search") == tool_id
    assert world.reg.logs(receipt, "ToolRegistered")[0]["name"] == "web-search"
    assert version(world, tool_id) == ((1, 9, 0), cid[0], keccak(text="meta"))
    with expect_revert("ToolAlreadyRegistered"):
        world.transact(OTHER_KEY, world.reg, "registerTool", "web-search", 9, 0, 0, cid[1], ZERO)
    with expect_revert("EmptyToolName"):
        world.transact(OTHER_KEY, world.reg, "registerTool", "", 1, 0, 0, cid[1], ZERO)
    for bad in ((1, 9, 0), (1, 8, 99), (0, 99, 99)):  # equal or lower
        with expect_revert("VersionNotIncreasing"):
            world.transact(OWNER_KEY, world.reg, "publishVersion", tool_id, *bad, cid[1], ZERO)
    world.transact(OWNER_KEY, world.reg, "publishVersion", tool_id, 1, 10, 0, cid[1], ZERO,
                   gas_label="publish a tool version")  # 1.10.0 > 1.9.0 (numeric, not text)
    world.transact(OWNER_KEY, world.reg, "publishVersion", tool_id, 1, 10, 1, cid[2], ZERO)
    assert version(world, tool_id)[0] == (1, 10, 1)
    with expect_revert("NotToolOwner"):
        world.transact(OTHER_KEY, world.reg, "publishVersion", tool_id, 2, 0, 0, cid[3], ZERO)
    with expect_revert("NotToolOwner"):
        world.transact(OTHER_KEY, world.reg, "transferToolOwnership", tool_id, OTHER)
    receipt = world.transact(OWNER_KEY, world.reg, "transferToolOwnership", tool_id, OTHER)
    assert world.reg.logs(receipt, "ToolOwnershipTransferred")[0]["newOwner"] == OTHER
    with expect_revert("NotToolOwner"):
        world.transact(OWNER_KEY, world.reg, "publishVersion", tool_id, 2, 0, 0, cid[3], ZERO)
    world.transact(OTHER_KEY, world.reg, "publishVersion", tool_id, 2, 0, 0, cid[3], ZERO)
    owner, name, _, count = world.view(world.reg, "getTool", tool_id)
    assert (owner, name, count) == (OTHER, "web-search", 4)
    assert world.view(world.reg, "getVersion", tool_id, 1)[:3] == (1, 10, 0)
    with expect_revert("VersionIndexOutOfRange"):
        world.view(world.reg, "getVersion", tool_id, 4)
    with expect_revert("ToolNotRegistered"):
        world.transact(OWNER_KEY, world.reg, "publishVersion", keccak(text="nope"), 1, 0, 0, ZERO, ZERO)
    with expect_revert("NoVersions"):
        world.view(world.reg, "getLatestVersion", keccak(text="nope"))
    # listing, paginated
    world.transact(OTHER_KEY, world.reg, "registerTool", "calculator", 0, 1, 0, cid[4], ZERO)
    assert world.view(world.reg, "toolCount") == 2
    assert world.view(world.reg, "listTools", 0, 10) == (tool_id, keccak(text="calculator"))
    assert world.view(world.reg, "listTools", 1, 1) == (keccak(text="calculator"),)
    assert world.view(world.reg, "listTools", 5, 1) == ()


# -- interface and gas ----------------------------------------------------------------------

def test_interface_matches_the_contract():
    art = contract_artifacts("AgentRegistry.sol", "interfaces/IAgentRegistry.sol")
    members = [{(f["name"], tuple(_abi_types(f["inputs"]))) for f in art[name][0] if f["type"] in ("function", "event")}
               for name in ("AgentRegistry", "IAgentRegistry")]
    assert members[0] == members[1]


def test_gas_figures(world):
    """Gas of registering an agent and of checking a permission (printed with -s)."""
    agent = register_agent(world, 30, gas_label="register an agent")
    world.transact(OWNER_KEY, world.reg, "grantPermission", agent.address, TARGET, SWAP, 10**18, now(world) + 10**6,
                   gas_label="grant a permission")
    # isAllowed as a transaction (what eth_estimateGas says) and as the call a dApp makes
    world.gas["check a permission: isAllowed, eth_estimateGas of a tx"] = world.estimate(
        world.reg, "isAllowed", agent.address, TARGET, SWAP, 5, sender=OTHER)
    world.gas["check a permission: consume (cumulative budget), tx"] = world.transact(
        TARGET_KEY, world.reg, "consume", agent.address, SWAP, 5).gas_used
    for label, gas in sorted(world.gas.items()):
        print(f"AgentRegistry gas | {label}: {gas}")
        assert 21_000 < gas < 1_000_000
    assert world.gas["check a permission: isAllowed, eth_estimateGas of a tx"] < 40_000


# -- through web3.py against the running dev node --------------------------------------------

@pytest.fixture(scope="module")
def w3(dev_node):
    from web3 import Web3

    return Web3(Web3.HTTPProvider(dev_node.url, request_kwargs={"timeout": 60}))


def test_web3_agent_with_a_permission_on_the_dev_node(w3):
    """Deploy a mock AutoId and a fresh AgentRegistry on the dev network, register an agent with
    its consent signature, grant a permission, ask isAllowed, append a memory, via web3.py."""
    deployer_key, owner_key = KEYS[6], KEYS[5]
    deployer, owner = ADDRS[6], ADDRS[5]
    owner_id = keccak(text="web3-agent-owner")
    art = contract_artifacts("AgentRegistry.sol")
    base = w3.eth.get_transaction_count(deployer, "pending")
    auto_id_addr = to_checksum_address(generate_contract_address(to_canonical_address(deployer), base))
    reg_addr = to_checksum_address(generate_contract_address(to_canonical_address(deployer), base + 1))
    auto_id = w3.eth.contract(address=auto_id_addr, abi=art["MockAutoId"][0])
    reg = w3.eth.contract(address=reg_addr, abi=art["AgentRegistry"][0])
    receipts = _send_all(w3, [
        (deployer_key, {"data": art["MockAutoId"][1]}),
        (deployer_key, {"data": art["AgentRegistry"][1] + encode(["address"], [auto_id_addr]).hex(), "gas": 6_000_000}),
        (deployer_key, {"to": auto_id_addr, "data": auto_id.encode_abi("link", [owner_id, owner])}),
    ])
    assert [r.status for r in receipts] == [1, 1, 1]
    agent = new_agent(1000)
    digest = reg.functions.registrationDigest(agent.address, owner_id).call()
    signature = Account.sign_message(encode_defunct(primitive=digest), agent.key).signature
    expiry = w3.eth.get_block("latest").timestamp + 3600
    receipts = _send_all(w3, [
        (owner_key, {"to": reg_addr, "data": reg.encode_abi("registerAgent", [agent.address, owner_id, ZERO, signature])}),
        (owner_key, {"to": reg_addr, "data": reg.encode_abi("grantPermission", [agent.address, TARGET, SWAP, 100, expiry])}),
        (owner_key, {"to": reg_addr, "data": reg.encode_abi("appendMemory", [agent.address, keccak(text="m0"), ZERO])}),
    ])
    assert [r.status for r in receipts] == [1, 1, 1]
    [event] = reg.events.AgentRegistered().process_receipt(receipts[0])
    assert event.args.agent == agent.address and event.args.ownerId == owner_id
    assert reg.functions.isAllowed(agent.address, TARGET, SWAP, 100).call() is True
    assert reg.functions.isAllowed(agent.address, TARGET, SWAP, 101).call() is False
    assert reg.functions.isAllowed(agent.address, TARGET, STAKE, 0).call() is False
    assert reg.functions.getLastMemoryHash(agent.address).call() == keccak(text="m0")
    gas = w3.eth.estimate_gas({"to": reg_addr, "data": reg.encode_abi("isAllowed", [agent.address, TARGET, SWAP, 1])})
    assert 21_000 < gas < 40_000


def test_web3_predeploy(w3):
    """The predeploy at 0xA070…0004 answers as AgentRegistry wired to AutoId at 0xA070…0001."""
    from web3.exceptions import ContractCustomError

    if w3.eth.get_code(AGENT_REGISTRY_ADDRESS) in (b"", None):
        pytest.skip("no AgentRegistry predeploy at 0xA070…0004 in the dev genesis yet")
    art = contract_artifacts("AgentRegistry.sol")
    reg = w3.eth.contract(address=AGENT_REGISTRY_ADDRESS, abi=art["AgentRegistry"][0])
    assert reg.functions.autoId().call().lower() == "0xa070000000000000000000000000000000000001"
    assert reg.functions.isAllowed(ADDRS[5], TARGET, SWAP, 0).call() is False
    assert reg.functions.toolIdOf("x").call() == keccak(text="x")
    with pytest.raises(ContractCustomError):  # no Auto ID behind this caller
        reg.functions.registerAgent(ADDRS[5], keccak(text="nobody"), ZERO, b"").call({"from": ADDRS[5]})
    # with a real Auto ID: register an agent (its consent signed), grant, check
    owner_key, owner = KEYS[6], ADDRS[6]
    owner_id = real_auto_id(w3, owner_key, "agent-registry-predeploy-test")
    agent = new_agent(2000)
    digest = reg.functions.registrationDigest(agent.address, owner_id).call()
    signature = Account.sign_message(encode_defunct(primitive=digest), agent.key).signature
    expiry = w3.eth.get_block("latest").timestamp + 3600
    receipts = _send_all(w3, [
        (owner_key, {"to": AGENT_REGISTRY_ADDRESS, "data": reg.encode_abi(
            "registerAgent", [agent.address, owner_id, keccak(text="character"), signature])}),
        (owner_key, {"to": AGENT_REGISTRY_ADDRESS, "data": reg.encode_abi(
            "grantPermission", [agent.address, TARGET, SWAP, 50, expiry])})])
    assert [r.status for r in receipts] == [1, 1]
    assert reg.functions.isAllowed(agent.address, TARGET, SWAP, 50).call() is True
    assert reg.functions.isAllowed(agent.address, TARGET, SWAP, 51).call() is False
    gas = w3.eth.estimate_gas({"to": AGENT_REGISTRY_ADDRESS,
                               "data": reg.encode_abi("isAllowed", [agent.address, TARGET, SWAP, 1])})
    print(f"AgentRegistry gas | check a permission on the predeploy (real AutoId.isActive), eth_estimateGas: {gas}")
    print(f"AgentRegistry gas | register an agent on the predeploy: {receipts[0].gasUsed}")
