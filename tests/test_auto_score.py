"""AutoScore (contracts/AutoScore.vy, spec domains.md §5.3): verifiers, weights, attestations,
sybil deduplication, expiry, revocation, EIP-712 attestations, score() and meets().

Most tests run in-process: one dev chain per module (DomainChain + DomainNode) with an AutoScore
deployed over a mock AutoId that has the two views AutoScore relies on (isActive, isController).
Each test uses fresh subject and claim ids, so tests do not depend on each other's claims.
Two tests use the real AutoId with certificates made by `cryptography` and linked controllers:
one with the registries the dev genesis predeploys on that same in-process chain, one through
web3.py against the running dev network (`dev_node`). The gas of each operation is printed at
the end of the module (pytest -s).
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from eth._utils.address import generate_contract_address
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak, to_canonical_address, to_checksum_address

from domains.evm.chain import DomainChain
from domains.evm.execution import CallRequest, ExecutionReverted, call, next_block_header
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from tests.compile import vyper

ROOT = Path(__file__).resolve().parent.parent
AUTO_SCORE_SOURCE = ROOT / "contracts" / "AutoScore.vy"
AUTO_ID_SOURCE = ROOT / "contracts" / "AutoId.vy"
AUTO_ID_PREDEPLOY = to_checksum_address("0xA070000000000000000000000000000000000001")
AUTO_SCORE_PREDEPLOY = to_checksum_address("0xA070000000000000000000000000000000000002")

ACCOUNTS = dev_accounts()
GOV, GOV_KEY = ACCOUNTS[0]
CONTROLLER, CONTROLLER_KEY = ACCOUNTS[1]        # a controller of verifier VERIFIER_A
OTHER_CONTROLLER, OTHER_KEY = ACCOUNTS[2]       # a controller of verifier VERIFIER_B
STRANGER, STRANGER_KEY = ACCOUNTS[3]            # controls nothing; relays EIP-712 attestations
# A controller of VERIFIER_A that never sends a transaction: it only signs attestations.
SIGNER = Account.from_key(keccak(b"auto score test: offline verifier key"))
GENESIS_TIME = 1_700_000_000
DAY = 86_400


def blake2b256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


# Claim types: blake2b-256 of the claim name (the Auto ID SDK's claim hashes, spec §5.2).
GOOGLE = blake2b256(b"GoogleEmail")
GITHUB = blake2b256(b"GithubUsername")
UBER = blake2b256(b"UberUUID")
WORLD_ID = blake2b256(b"WorldID")
GOV_REGISTRY = blake2b256(b"GovRegistry")
WEIGHTS = {GOOGLE: 33, GITHUB: 33, UBER: 20, WORLD_ID: 50, GOV_REGISTRY: 60}

# The values documented in contracts/interfaces/IAutoScore.sol.
DOCUMENTED_CLAIM_TYPES = {
    "GoogleEmail": "0x" + GOOGLE.hex(), "GithubUsername": "0x" + GITHUB.hex(), "UberUUID": "0x" + UBER.hex(),
    "WorldID": "0x" + WORLD_ID.hex(), "GovRegistry": "0x" + GOV_REGISTRY.hex(),
}

ATTESTATION_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
    ],
    "Attestation": [
        {"name": "verifier", "type": "bytes32"}, {"name": "subject", "type": "bytes32"},
        {"name": "claimType", "type": "bytes32"}, {"name": "claimId", "type": "bytes32"},
        {"name": "expiresAt", "type": "uint64"}, {"name": "nonce", "type": "uint256"},
    ],
}

MOCK_AUTO_ID = """
# pragma version ~=0.4.3
# The two AutoId views AutoScore relies on, with setters for the tests.
active: HashMap[bytes32, bool]
controllers: HashMap[bytes32, HashMap[address, bool]]

@external
def setActive(id: bytes32, on: bool):
    self.active[id] = on

@external
def setController(id: bytes32, account: address, on: bool):
    self.controllers[id][account] = on

@external
@view
def isActive(id: bytes32) -> bool:
    return self.active[id]

@external
@view
def isController(id: bytes32, account: address) -> bool:
    return self.active[id] and self.controllers[id][account]
"""

_fresh = itertools.count(1)


def fresh_id(label: str) -> bytes:
    """A new 32-byte identifier (an Auto ID or a claim id) no other test uses."""
    return blake2b256(f"{label}:{next(_fresh)}".encode())


def claim_id(service: str, sub_uid: str) -> bytes:
    """The SDK's unique claim id: blake2b-256("serviceId:subUID")."""
    return blake2b256(f"{service}:{sub_uid}".encode())


def topics(*words: bytes) -> tuple[int, ...]:
    """A log's topics as py-evm's receipts hold them."""
    return tuple(int.from_bytes(w, "big") for w in words)


def _types(params: list[dict]) -> list[str]:
    def one(p: dict) -> str:
        if p["type"].startswith("tuple"):
            return "(" + ",".join(_types(p["components"])) + ")" + p["type"][5:]
        return p["type"]
    return [one(p) for p in params]


class Abi:
    """Calldata encoding and output decoding for one contract's ABI."""

    def __init__(self, abi: list[dict]) -> None:
        self.functions = {f["name"]: f for f in abi if f["type"] == "function"}
        self.events = {e["name"]: e for e in abi if e["type"] == "event"}

    def calldata(self, name: str, *args) -> bytes:
        types = _types(self.functions[name]["inputs"])
        return function_signature_to_4byte_selector(f"{name}({','.join(types)})") + encode(types, list(args))

    def decode(self, name: str, output: bytes):
        types = _types(self.functions[name]["outputs"])
        values = [to_checksum_address(v) if t == "address" else list(v) if t.endswith("[]") else v
                  for t, v in zip(types, decode(types, output))]
        return values[0] if len(values) == 1 else tuple(values)

    def topic(self, name: str) -> bytes:
        types = _types(self.events[name]["inputs"])
        return keccak(text=f"{name}({','.join(types)})")


class World(SimpleNamespace):
    """The module's chain, node and contracts. Each `send` seals one block 12 s after the head."""

    def _tx(self, to: bytes, data: bytes, key: bytes, nonce: int, gas: int = 1_000_000) -> bytes:
        tx = {"chainId": self.chain.chain_id, "nonce": nonce, "value": 0, "gas": gas,
              "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2, "data": data,
              "to": to_checksum_address(to)}
        return Account.sign_transaction(tx, key).raw_transaction

    def send_many(self, calls: list[tuple[bytes, bytes, bytes]]):
        """Send (to, data, key) transactions in one block; return their receipts."""
        nonces: dict[bytes, int] = {}
        for to, data, key in calls:
            sender = to_canonical_address(Account.from_key(key).address)
            nonces.setdefault(sender, self.node.next_nonce(sender))
            self.node.submit_raw_transaction(self._tx(to, data, key, nonces[sender]))
            nonces[sender] += 1
        built = self.node.produce_block(timestamp=self.chain.head().timestamp + 12)
        assert len(built.receipts) == len(calls), built.dropped
        return built.receipts

    def send(self, to: bytes, data: bytes, key: bytes = GOV_KEY):
        (receipt,) = self.send_many([(to, data, key)])
        return receipt

    def advance(self, seconds: int) -> None:
        """Seal an empty block `seconds` after the head."""
        self.node.produce_block(timestamp=self.chain.head().timestamp + seconds, transactions=[])

    def now(self) -> int:
        return self.chain.head().timestamp

    def _pending(self):
        return next_block_header(self.chain, timestamp=self.chain.head().timestamp + 12)

    def eth_call(self, to: bytes, data: bytes, sender: str | None = None):
        fields = {"to": "0x" + to.hex(), "input": "0x" + data.hex()}
        if sender is not None:
            fields["from"] = sender
        return call(self.chain, CallRequest.from_json(fields), self._pending())

    # -- AutoScore -------------------------------------------------------------------------

    def score_call(self, name: str, *args, sender: str | None = None):
        result = self.eth_call(self.score, self.abi.calldata(name, *args), sender)
        return self.abi.decode(name, result.raise_for_error())

    def transact(self, name: str, *args, key: bytes = GOV_KEY):
        """Send a transaction to AutoScore and require success (an eth_call first gives the reason)."""
        sender = Account.from_key(key).address
        result = self.eth_call(self.score, self.abi.calldata(name, *args), sender)
        assert result.success, f"{name} would revert: {result.reason}"
        receipt = self.send(self.score, self.abi.calldata(name, *args), key)
        assert receipt.state_root == b"\x01", f"{name} failed"
        return receipt

    def revert_reason(self, name: str, *args, key: bytes = GOV_KEY) -> str:
        """The reason AutoScore gives for refusing this call from `key`'s account."""
        result = self.eth_call(self.score, self.abi.calldata(name, *args), Account.from_key(key).address)
        with pytest.raises(ExecutionReverted) as info:
            result.raise_for_error()
        return info.value.reason

    def score_of(self, subject: bytes) -> int:
        return self.score_call("score", subject)

    # -- the mock AutoId -------------------------------------------------------------------

    def auto_id_calls(self, *calls: tuple[str, tuple]) -> None:
        receipts = self.send_many([(self.auto_id, self.mock_abi.calldata(name, *args), GOV_KEY)
                                   for name, args in calls])
        assert all(r.state_root == b"\x01" for r in receipts)

    def new_auto_ids(self, count: int, label: str = "subject") -> list[bytes]:
        ids = [fresh_id(label) for _ in range(count)]
        self.auto_id_calls(*[("setActive", (i, True)) for i in ids])
        return ids

    def attest(self, subject: bytes, claim_type: bytes, cid: bytes, expires_at: int | None = None,
               verifier: bytes | None = None, key: bytes = CONTROLLER_KEY):
        expires_at = self.now() + 30 * DAY if expires_at is None else expires_at
        return self.transact("attest", verifier or self.verifier_a, subject, claim_type, cid, expires_at, key=key)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    chain = DomainChain.create(tmp_path_factory.mktemp("auto-score") / "d", dev_genesis(timestamp=GENESIS_TIME))
    w = World(chain=chain, node=DomainNode(chain), gas={})
    mock_abi, mock_code = vyper(MOCK_AUTO_ID)
    abi, code = vyper(AUTO_SCORE_SOURCE.read_text())
    w.mock_abi, w.abi = Abi(mock_abi), Abi(abi)
    deployer = to_canonical_address(STRANGER)
    first = w.node.next_nonce(deployer)
    w.auto_id = generate_contract_address(deployer, first)
    w.score = generate_contract_address(deployer, first + 1)
    # Contract creations (no `to`): the mock AutoId, then AutoScore(auto_id, governance).
    for data in (bytes.fromhex(mock_code[2:]),
                 bytes.fromhex(code[2:]) + encode(["address", "address"], [to_checksum_address(w.auto_id), GOV])):
        tx = {"chainId": chain.chain_id, "nonce": w.node.next_nonce(deployer), "value": 0, "gas": 5_000_000,
              "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2, "data": data}
        w.node.submit_raw_transaction(Account.sign_transaction(tx, STRANGER_KEY).raw_transaction)
    built = w.node.produce_block(timestamp=GENESIS_TIME + 12)
    assert [r.state_root for r in built.receipts] == [b"\x01", b"\x01"], built.dropped
    w.gas["deploy"] = built.receipts[1].gas_used - built.receipts[0].gas_used

    # Two verifiers (Auto IDs) with their controllers; both admitted; weights for five claim types.
    w.verifier_a, w.verifier_b = fresh_id("verifier"), fresh_id("verifier")
    w.auto_id_calls(("setActive", (w.verifier_a, True)), ("setActive", (w.verifier_b, True)),
                    ("setController", (w.verifier_a, CONTROLLER, True)),
                    ("setController", (w.verifier_a, SIGNER.address, True)),
                    ("setController", (w.verifier_b, OTHER_CONTROLLER, True)))
    receipts = w.send_many([(w.score, w.abi.calldata("admitVerifier", v), GOV_KEY) for v in (w.verifier_a, w.verifier_b)]
                           + [(w.score, w.abi.calldata("setWeight", t, weight), GOV_KEY) for t, weight in WEIGHTS.items()])
    assert all(r.state_root == b"\x01" for r in receipts)
    yield w
    print("\nAutoScore gas:\n" + "\n".join(f"  {name}: {gas}" for name, gas in w.gas.items()))
    chain.close()


def sign_attestation(world: World, key: bytes, *, verifier: bytes, subject: bytes, claim_type: bytes, cid: bytes,
                     expires_at: int, nonce: int, chain_id: int | None = None, contract: bytes | None = None) -> bytes:
    """An EIP-712 Attestation signature (r ‖ s ‖ v) made with eth_account's sign_typed_data."""
    message = {
        "types": ATTESTATION_TYPES, "primaryType": "Attestation",
        "domain": {"name": "AutoScore", "version": "1", "chainId": chain_id or world.chain.chain_id,
                   "verifyingContract": to_checksum_address(contract or world.score)},
        "message": {"verifier": verifier, "subject": subject, "claimType": claim_type, "claimId": cid,
                    "expiresAt": expires_at, "nonce": nonce},
    }
    return bytes(Account.sign_typed_data(key, full_message=message).signature)


# -- governance -------------------------------------------------------------------------------

def test_construction(world):
    assert world.score_call("governance") == GOV
    assert world.score_call("autoId") == to_checksum_address(world.auto_id)
    assert world.score_call("MAX_SCORE") == 100 and world.score_call("MAX_CLAIMS_PER_SUBJECT") == 32
    assert world.score_call("isVerifier", world.verifier_a) and world.score_call("isVerifier", world.verifier_b)
    assert all(world.score_call("weightOf", t) == w for t, w in WEIGHTS.items())
    assert world.score_call("ATTESTATION_TYPEHASH") == keccak(
        text="Attestation(bytes32 verifier,bytes32 subject,bytes32 claimType,bytes32 claimId,uint64 expiresAt,uint256 nonce)")


def test_governance_only_setters(world):
    some_id = world.new_auto_ids(1, "verifier")[0]
    for name, args in [("admitVerifier", (some_id,)), ("removeVerifier", (world.verifier_a,)),
                       ("setWeight", (GOOGLE, 1)), ("transferGovernance", (STRANGER,))]:
        assert world.revert_reason(name, *args, key=STRANGER_KEY) == "auto score: only governance"
    # a refused call is a failed transaction too, and nothing changed
    receipt = world.send(world.score, world.abi.calldata("setWeight", GOOGLE, 1), STRANGER_KEY)
    assert receipt.state_root == b""
    assert world.score_call("weightOf", GOOGLE) == WEIGHTS[GOOGLE]

    assert world.revert_reason("setWeight", GOOGLE, 101) == "auto score: weight above 100"
    assert world.revert_reason("admitVerifier", world.verifier_a) == "auto score: verifier already admitted"
    assert world.revert_reason("admitVerifier", fresh_id("unregistered")) == \
        "auto score: verifier is not an active Auto ID"
    assert world.revert_reason("removeVerifier", some_id) == "auto score: not a verifier"
    assert world.revert_reason("transferGovernance", "0x" + "00" * 20) == "auto score: governance address is empty"

    # admit and remove emit events
    receipt = world.transact("admitVerifier", some_id)
    assert [log.topics for log in receipt.logs] == [topics(world.abi.topic("VerifierAdmitted"), some_id)]
    receipt = world.transact("removeVerifier", some_id)
    assert receipt.logs[0].topics[0] == topics(world.abi.topic("VerifierRemoved"))[0]
    assert not world.score_call("isVerifier", some_id)

    # governance moves to STRANGER and back
    world.transact("transferGovernance", STRANGER)
    assert world.score_call("governance") == STRANGER
    assert world.revert_reason("setWeight", GOOGLE, 1) == "auto score: only governance"
    receipt = world.transact("setWeight", blake2b256(b"Unused"), 7, key=STRANGER_KEY)
    (log,) = receipt.logs
    assert log.topics == topics(world.abi.topic("WeightSet"), blake2b256(b"Unused"))
    assert decode(["uint256"], log.data) == (7,)
    world.transact("transferGovernance", GOV, key=STRANGER_KEY)
    assert world.score_call("governance") == GOV


# -- attestations and the score ---------------------------------------------------------------

def test_weights_distinct_types_and_cap(world):
    subject, = world.new_auto_ids(1)
    assert world.score_of(subject) == 0
    receipt = world.attest(subject, GOOGLE, claim_id("google", "alice@example.com"))
    world.gas["attest (new claim)"] = receipt.gas_used
    assert world.score_of(subject) == 33
    # a second Google account: the type already counts, so the score stays
    receipt = world.attest(subject, GOOGLE, claim_id("google", "alice2@example.com"))
    world.gas["attest (new claim, 2nd of its type)"] = receipt.gas_used
    assert world.score_of(subject) == 33
    world.attest(subject, GITHUB, claim_id("github", "alice"))
    assert world.score_of(subject) == 66
    world.attest(subject, WORLD_ID, claim_id("worldid", "nullifier-1"), verifier=world.verifier_b, key=OTHER_KEY)
    assert world.score_of(subject) == 100        # 33 + 33 + 50 = 116, capped
    assert world.score_call("claimsOf", subject) == [claim_id("google", "alice@example.com"),
                                                     claim_id("google", "alice2@example.com"),
                                                     claim_id("github", "alice"), claim_id("worldid", "nullifier-1")]
    result = world.eth_call(world.score, world.abi.calldata("score", subject))
    world.gas["score() call, 4 claims (tx gas incl. 21000)"] = result.gas_used

    # governance changes a weight: the score follows at once
    world.transact("setWeight", WORLD_ID, 10)
    assert world.score_of(subject) == 76
    world.transact("setWeight", WORLD_ID, WEIGHTS[WORLD_ID])


def test_meets(world):
    subject, inactive = world.new_auto_ids(2)
    world.attest(subject, GITHUB, claim_id("github", "meets-user"))
    world.attest(subject, UBER, claim_id("uber", "meets-uuid"))
    assert world.score_of(subject) == 53
    assert world.score_call("meets", subject, 53) and world.score_call("meets", subject, 1)
    assert not world.score_call("meets", subject, 54)
    assert world.score_call("meets", subject, 0)
    assert not world.score_call("meets", subject, 101)
    result = world.eth_call(world.score, world.abi.calldata("meets", subject, 50))
    world.gas["meets() call, 2 claims (tx gas incl. 21000)"] = result.gas_used
    # an Auto ID that is deactivated or revoked in AutoId scores 0
    world.attest(inactive, GOOGLE, claim_id("google", "meets@example.com"))
    assert world.score_of(inactive) == 33
    world.auto_id_calls(("setActive", (inactive, False)))
    assert world.score_of(inactive) == 0 and not world.score_call("meets", inactive, 1)
    assert world.revert_reason("attest", world.verifier_a, inactive, GITHUB, fresh_id("claim"),
                               world.now() + DAY, key=CONTROLLER_KEY) == "auto score: subject is not an active Auto ID"


def test_dedup_across_auto_ids(world):
    alice, bob = world.new_auto_ids(2)
    account = claim_id("google", "shared@example.com")
    receipt = world.attest(alice, GOOGLE, account)
    (log,) = receipt.logs
    assert log.topics == topics(world.abi.topic("ClaimAttested"), alice, GOOGLE, account)
    assert decode(["bytes32", "uint64"], log.data)[0] == world.verifier_a
    # the same external account for another Auto ID: refused, by any verifier
    for verifier, key in ((world.verifier_a, CONTROLLER_KEY), (world.verifier_b, OTHER_KEY)):
        assert world.revert_reason("attest", verifier, bob, GOOGLE, account, world.now() + DAY, key=key) == \
            "auto score: claim already used by another Auto ID"
    # the same account under another claim type is refused too
    assert world.revert_reason("attest", world.verifier_a, alice, GITHUB, account, world.now() + DAY,
                               key=CONTROLLER_KEY) == "auto score: claim id has another claim type"
    assert world.score_of(bob) == 0
    # re-attesting for the same Auto ID refreshes the expiry (and records the verifier)
    later = world.now() + 90 * DAY
    receipt = world.attest(alice, GOOGLE, account, expires_at=later, verifier=world.verifier_b, key=OTHER_KEY)
    world.gas["attest (refresh existing claim)"] = receipt.gas_used
    assert world.score_call("claimOf", account) == (alice, GOOGLE, world.verifier_b, later)
    assert world.score_call("claimsOf", alice) == [account]
    # even expired, the claim id stays with alice
    world.advance(91 * DAY)
    assert world.score_of(alice) == 0
    assert world.revert_reason("attest", world.verifier_a, bob, GOOGLE, account, world.now() + DAY,
                               key=CONTROLLER_KEY) == "auto score: claim already used by another Auto ID"
    # only a revocation frees it
    world.transact("revoke", account, key=OTHER_KEY)
    world.attest(bob, GOOGLE, account)
    assert world.score_of(bob) == 33 and world.score_call("claimOf", account)[0] == bob


def test_expiry(world):
    subject, = world.new_auto_ids(1)
    now = world.now()
    world.attest(subject, GOOGLE, claim_id("google", "expiring@example.com"), expires_at=now + 1000)
    world.attest(subject, GITHUB, claim_id("github", "expiring"), expires_at=now + 5000)
    assert world.score_of(subject) == 66
    world.advance(1000)                          # the Google claim's expiry: it no longer counts
    assert world.score_of(subject) == 33 and not world.score_call("meets", subject, 34)
    world.advance(4000)
    assert world.score_of(subject) == 0
    # an expired claim of a type is replaced by a live one of the same type
    world.attest(subject, GOOGLE, claim_id("google", "fresh@example.com"))
    assert world.score_of(subject) == 33
    assert world.revert_reason("attest", world.verifier_a, subject, GITHUB, fresh_id("claim"), world.now(),
                               key=CONTROLLER_KEY) == "auto score: expiry is in the past"


def test_revocation(world):
    subject, = world.new_auto_ids(1)
    google, github = claim_id("google", "revoked@example.com"), claim_id("github", "revoked")
    world.attest(subject, GOOGLE, google)
    world.attest(subject, GITHUB, github)
    assert world.score_of(subject) == 66
    # another verifier and a stranger may not revoke verifier A's claim
    assert world.revert_reason("revoke", google, key=OTHER_KEY) == "auto score: only the claim's verifier or governance"
    assert world.revert_reason("revoke", google, key=STRANGER_KEY) == "auto score: only the claim's verifier or governance"
    receipt = world.transact("revoke", google, key=CONTROLLER_KEY)
    (log,) = receipt.logs
    assert log.topics == topics(world.abi.topic("ClaimRevoked"), subject, GOOGLE, google)
    assert world.score_of(subject) == 33
    assert world.score_call("claimOf", google) == (b"\0" * 32, b"\0" * 32, b"\0" * 32, 0)
    assert world.score_call("claimsOf", subject) == [github]
    assert world.revert_reason("revoke", google, key=CONTROLLER_KEY) == "auto score: no such claim"
    # governance may revoke any claim
    world.transact("revoke", github, key=GOV_KEY)
    assert world.score_of(subject) == 0 and world.score_call("claimsOf", subject) == []


def test_removed_verifier_claims_stop_counting(world):
    subject, = world.new_auto_ids(1)
    verifier_c, = world.new_auto_ids(1, "verifier")
    world.auto_id_calls(("setController", (verifier_c, STRANGER, True)))
    world.transact("admitVerifier", verifier_c)
    world.attest(subject, GOV_REGISTRY, claim_id("registry", "citizen-1"), verifier=verifier_c, key=STRANGER_KEY)
    world.attest(subject, GITHUB, claim_id("github", "citizen-1"))
    assert world.score_of(subject) == 93
    world.transact("removeVerifier", verifier_c)
    assert world.score_of(subject) == 33
    assert world.revert_reason("attest", verifier_c, subject, GOOGLE, fresh_id("claim"), world.now() + DAY,
                               key=STRANGER_KEY) == "auto score: not an admitted verifier"
    world.transact("admitVerifier", verifier_c)
    assert world.score_of(subject) == 93


def test_non_verifier_rejected(world):
    subject, not_admitted = world.new_auto_ids(2)
    world.auto_id_calls(("setController", (not_admitted, STRANGER, True)))
    expires = world.now() + DAY
    # an Auto ID that governance did not admit
    assert world.revert_reason("attest", not_admitted, subject, GOOGLE, fresh_id("claim"), expires,
                               key=STRANGER_KEY) == "auto score: not an admitted verifier"
    # an admitted verifier, but the sender is not one of its controllers
    for key in (STRANGER_KEY, OTHER_KEY, GOV_KEY):
        assert world.revert_reason("attest", world.verifier_a, subject, GOOGLE, fresh_id("claim"), expires,
                                   key=key) == "auto score: account is not a controller of the verifier"
    receipt = world.send(world.score, world.abi.calldata("attest", world.verifier_a, subject, GOOGLE,
                                                         fresh_id("claim"), expires), STRANGER_KEY)
    assert receipt.state_root == b""
    # an unknown (weightless) claim type
    assert world.revert_reason("attest", world.verifier_a, subject, blake2b256(b"Nonsense"), fresh_id("claim"),
                               expires, key=CONTROLLER_KEY) == "auto score: unknown claim type"
    assert world.score_of(subject) == 0


def test_claim_cap_per_subject(world):
    subject, = world.new_auto_ids(1)
    expires = world.now() + DAY
    ids = [fresh_id("capped") for _ in range(33)]
    receipts = world.send_many([(world.score, world.abi.calldata("attest", world.verifier_a, subject, UBER, cid,
                                                                 expires), CONTROLLER_KEY) for cid in ids[:32]])
    assert all(r.state_root == b"\x01" for r in receipts)
    assert len(world.score_call("claimsOf", subject)) == 32
    assert world.revert_reason("attest", world.verifier_a, subject, UBER, ids[32], expires, key=CONTROLLER_KEY) == \
        "auto score: subject has too many claims"
    # the worst case score(): 32 claims, all of one type (read before the early exit)
    assert world.score_of(subject) == WEIGHTS[UBER]
    result = world.eth_call(world.score, world.abi.calldata("score", subject))
    world.gas["score() call, 32 claims (tx gas incl. 21000)"] = result.gas_used
    assert result.gas_used < 300_000
    # revoking frees a place; the revoke's swap-and-pop keeps the rest
    world.transact("revoke", ids[5], key=CONTROLLER_KEY)
    held = world.score_call("claimsOf", subject)
    assert len(held) == 31 and ids[5] not in held and set(held) == set(ids[:32]) - {ids[5]}
    world.attest(subject, UBER, ids[32], expires_at=expires)


# -- EIP-712 ----------------------------------------------------------------------------------

def test_eip712_attestation_by_third_party(world):
    subject, = world.new_auto_ids(1)
    cid = claim_id("worldid", "nullifier-eip712")
    expires = world.now() + 30 * DAY
    fields = dict(verifier=world.verifier_a, subject=subject, claim_type=WORLD_ID, cid=cid, expires_at=expires)
    signature = sign_attestation(world, SIGNER.key, nonce=7, **fields)

    # the contract computes the same domain separator and digest as eth_account
    domain = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [
        keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
        keccak(text="AutoScore"), keccak(text="1"), world.chain.chain_id, to_checksum_address(world.score)]))
    assert world.score_call("domainSeparator") == domain
    digest = world.score_call("attestationDigest", world.verifier_a, subject, WORLD_ID, cid, expires, 7)
    assert Account._recover_hash(digest, signature=signature) == SIGNER.address

    args = (world.verifier_a, subject, WORLD_ID, cid, expires, 7, signature)
    receipt = world.transact("attestBySig", *args, key=STRANGER_KEY)      # submitted by a third party
    world.gas["attestBySig (new claim)"] = receipt.gas_used
    assert receipt.logs[0].topics[0] == topics(world.abi.topic("ClaimAttested"))[0]
    assert world.score_of(subject) == WEIGHTS[WORLD_ID]
    assert world.score_call("claimOf", cid) == (subject, WORLD_ID, world.verifier_a, expires)
    assert world.score_call("nonceUsed", world.verifier_a, 7)

    # replay: the same signature again, by anyone
    for key in (STRANGER_KEY, GOV_KEY):
        assert world.revert_reason("attestBySig", *args, key=key) == "auto score: nonce already used"
    # a changed field recovers another address, which controls no verifier
    tampered = (world.verifier_a, subject, WORLD_ID, cid, expires + 1, 8, signature)
    assert world.revert_reason("attestBySig", *tampered, key=STRANGER_KEY) == \
        "auto score: account is not a controller of the verifier"
    # a signature for another chain or another contract is not valid here
    for other in (dict(chain_id=1), dict(contract=world.auto_id)):
        sig = sign_attestation(world, SIGNER.key, nonce=9, **fields, **other)
        assert world.revert_reason("attestBySig", world.verifier_a, subject, WORLD_ID, cid, expires, 9, sig,
                                   key=STRANGER_KEY) == "auto score: account is not a controller of the verifier"
    # the malleable twin (s' = n - s, v flipped) is refused
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    assert world.revert_reason("attestBySig", world.verifier_a, subject, WORLD_ID, cid, expires, 10, twin,
                               key=STRANGER_KEY) in ("auto score: bad signature s",)
    assert world.revert_reason("attestBySig", world.verifier_a, subject, WORLD_ID, cid, expires, 10, b"\1" * 64,
                               key=STRANGER_KEY) == "auto score: signature must be 65 bytes"


def test_eip712_rejects_non_verifier_signers(world):
    subject, not_admitted = world.new_auto_ids(2)
    world.auto_id_calls(("setController", (not_admitted, STRANGER, True)))
    expires = world.now() + DAY
    cid = fresh_id("claim")
    # signed by a key that controls no verifier
    sig = sign_attestation(world, STRANGER_KEY, verifier=world.verifier_a, subject=subject, claim_type=GOOGLE,
                           cid=cid, expires_at=expires, nonce=1)
    assert world.revert_reason("attestBySig", world.verifier_a, subject, GOOGLE, cid, expires, 1, sig) == \
        "auto score: account is not a controller of the verifier"
    # signed by the controller of an Auto ID that is not an admitted verifier
    sig = sign_attestation(world, STRANGER_KEY, verifier=not_admitted, subject=subject, claim_type=GOOGLE,
                           cid=cid, expires_at=expires, nonce=1)
    assert world.revert_reason("attestBySig", not_admitted, subject, GOOGLE, cid, expires, 1, sig) == \
        "auto score: not an admitted verifier"
    # the sybil rule holds on the EIP-712 path too
    other, = world.new_auto_ids(1)
    world.attest(other, GOOGLE, cid)
    sig = sign_attestation(world, SIGNER.key, verifier=world.verifier_a, subject=subject, claim_type=GOOGLE,
                           cid=cid, expires_at=expires, nonce=2)
    assert world.revert_reason("attestBySig", world.verifier_a, subject, GOOGLE, cid, expires, 2, sig) == \
        "auto score: claim already used by another Auto ID"


def test_invalidate_nonce(world):
    subject, = world.new_auto_ids(1)
    expires, cid = world.now() + DAY, fresh_id("claim")
    sig = sign_attestation(world, SIGNER.key, verifier=world.verifier_a, subject=subject, claim_type=GITHUB,
                           cid=cid, expires_at=expires, nonce=77)
    assert world.revert_reason("invalidateNonce", world.verifier_a, 77, key=STRANGER_KEY) == \
        "auto score: account is not a controller of the verifier"
    receipt = world.transact("invalidateNonce", world.verifier_a, 77, key=CONTROLLER_KEY)
    assert receipt.logs[0].topics[0] == topics(world.abi.topic("NonceInvalidated"))[0]
    assert world.revert_reason("attestBySig", world.verifier_a, subject, GITHUB, cid, expires, 77, sig,
                               key=STRANGER_KEY) == "auto score: nonce already used"


def test_documented_claim_types_match_the_interface():
    text = (ROOT / "contracts" / "interfaces" / "IAutoScore.sol").read_text().lower()
    for name, value in DOCUMENTED_CLAIM_TYPES.items():
        assert value in text, f"{name} = {value} missing from IAutoScore.sol"


def test_interface_matches_contract():
    """Every function and event of IAutoScore.sol is in AutoScore.vy's ABI with the same types."""
    from tests.compile import SOLC, solidity

    if not SOLC.exists():
        pytest.skip("tools/solc/bin/solc missing: run `make test`, which installs it")
    source = (ROOT / "contracts" / "interfaces" / "IAutoScore.sol").read_text()
    interface_abi, _ = solidity(source, "IAutoScore")
    contract_abi, _ = vyper(AUTO_SCORE_SOURCE.read_text())

    def signatures(abi):
        return {(item["type"], item["name"], tuple(_types(item["inputs"])),
                 tuple(_types(item.get("outputs", [])))) for item in abi if item["type"] in ("function", "event")}

    missing = signatures(interface_abi) - signatures(contract_abi)
    assert not missing, missing


# -- with the real AutoId: certificates, linked controllers, the predeploys -------------------

# DER AlgorithmIdentifier of ecdsa-with-SHA256 (1.2.840.10045.4.3.2), as in a certificate.
ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
LINK_ADDRESS = 2          # AutoId's action type for linkAddress


def selector_call(signature: str, *args) -> bytes:
    types = signature[signature.index("(") + 1:-1]
    return function_signature_to_4byte_selector(signature) + encode([t for t in types.split(",") if t], list(args))


def self_signed_certificate(common_name: str):
    """A P-256 key and a root certificate (DER) for it, made with the `cryptography` package,
    valid from 2023 to 2035 (the in-process chain starts in November 2023)."""
    from datetime import datetime, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(datetime(2023, 1, 1, tzinfo=timezone.utc))
                   .not_valid_after(datetime(2035, 1, 1, tzinfo=timezone.utc))
                   .sign(key, hashes.SHA256()))
    return key, certificate.public_bytes(Encoding.DER)


def ecdsa_sign(key, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    return key.sign(message, ec.ECDSA(hashes.SHA256()))


class RealAutoIds:
    """Registers root Auto IDs in the real AutoId and links controllers, through `send(calls)`
    (a list of (to, data) sent in order, in one block) and `view(to, data) -> bytes`."""

    def __init__(self, send, view) -> None:
        self.send, self.view = send, view
        self.auto_id = to_canonical_address(AUTO_ID_PREDEPLOY)

    def register_calls(self, label: str) -> tuple[bytes, object, list[tuple[bytes, bytes]]]:
        """(id, key, calls) that register a fresh root Auto ID."""
        common_name = f"{label}-{fresh_id(label).hex()[:12]}"
        key, der = self_signed_certificate(common_name)
        return blake2b256(common_name.encode()), key, [
            (self.auto_id, selector_call("registerCertificate(bytes32,bytes)", b"\0" * 32, der))]

    def link_call(self, id: bytes, key, account: str, nonce: int = 0) -> tuple[bytes, bytes]:
        """The linkAddress call for `account`, signed by the certificate key over AutoId's own
        action message (its `actionMessage` view), valid once the Auto ID is registered."""
        message, = decode(["bytes"], self.view(self.auto_id, selector_call(
            "actionMessage(bytes32,uint256,uint8,address)", id, nonce, LINK_ADDRESS, account)))
        return (self.auto_id, selector_call("linkAddress(bytes32,address,uint256,bytes,bytes)", id, account, nonce,
                                            ECDSA_WITH_SHA256, ecdsa_sign(key, message)))

    def is_active(self, id: bytes) -> bool:
        return decode(["bool"], self.view(self.auto_id, selector_call("isActive(bytes32)", id)))[0]

    def is_controller(self, id: bytes, account: str) -> bool:
        return decode(["bool"], self.view(self.auto_id, selector_call("isController(bytes32,address)", id, account)))[0]


def test_predeployed_auto_score_with_real_auto_id(world):
    """The dev genesis predeploys AutoScore(0xA070…0001, dev account 0) at 0xA070…0002; with
    real certificates and a linked controller, a verifier attests directly and by EIP-712."""
    predeploy = to_canonical_address(AUTO_SCORE_PREDEPLOY)
    state = world.chain.state_at(world.chain.head())
    if not state.get_code(to_canonical_address(AUTO_ID_PREDEPLOY)) or not state.get_code(predeploy):
        pytest.skip("the dev genesis has no AutoId or AutoScore predeploy (a source is missing or does not compile)")

    def send(calls, key=STRANGER_KEY):
        receipts = world.send_many([(to, data, key) for to, data in calls])
        assert all(r.state_root == b"\x01" for r in receipts), "a transaction failed"
        return receipts

    def view(to, data):
        return world.eth_call(to, data).raise_for_error()

    ids = RealAutoIds(send, view)
    score = SimpleNamespace(call=lambda name, *args: world.abi.decode(name, view(predeploy, world.abi.calldata(name, *args))),
                            data=lambda name, *args: (predeploy, world.abi.calldata(name, *args)))
    assert score.call("autoId") == AUTO_ID_PREDEPLOY and score.call("governance") == GOV

    verifier, verifier_key, calls = ids.register_calls("verifier")
    subject, _, more = ids.register_calls("subject")
    send(calls + more)
    assert ids.is_active(verifier) and ids.is_active(subject)
    send([ids.link_call(verifier, verifier_key, CONTROLLER), ids.link_call(verifier, verifier_key, SIGNER.address, 1)])
    assert ids.is_controller(verifier, CONTROLLER) and ids.is_controller(verifier, SIGNER.address)

    send([score.data("admitVerifier", verifier), score.data("setWeight", GOOGLE, 33),
          score.data("setWeight", WORLD_ID, 50)], key=GOV_KEY)
    (receipt,) = send([score.data("attest", verifier, subject, GOOGLE, claim_id("google", "real@example.com"),
                                  world.now() + 30 * DAY)], key=CONTROLLER_KEY)
    world.gas["attest via real AutoId (new claim)"] = receipt.gas_used
    assert score.call("score", subject) == 33

    cid, expires = claim_id("worldid", "real-nullifier"), world.now() + 30 * DAY
    signature = sign_attestation(world, SIGNER.key, verifier=verifier, subject=subject, claim_type=WORLD_ID, cid=cid,
                                 expires_at=expires, nonce=1, contract=predeploy)
    (receipt,) = send([score.data("attestBySig", verifier, subject, WORLD_ID, cid, expires, 1, signature)])
    world.gas["attestBySig via real AutoId (new claim)"] = receipt.gas_used
    assert score.call("score", subject) == 83 and score.call("meets", subject, 83)
    result = world.eth_call(predeploy, world.abi.calldata("meets", subject, 83))
    world.gas["meets() via real AutoId, 2 claims (tx gas incl. 21000)"] = result.gas_used
    # an Auto ID with no controller link cannot act as a verifier, even when admitted
    assert world.eth_call(predeploy, world.abi.calldata("attest", verifier, subject, GITHUB, fresh_id("claim"),
                                                        expires), STRANGER).reason == \
        "auto score: account is not a controller of the verifier"
    # an identifier that was never registered cannot be admitted
    assert world.eth_call(predeploy, world.abi.calldata("admitVerifier", fresh_id("nobody")), GOV).reason == \
        "auto score: verifier is not an active Auto ID"


# -- the predeployed AutoScore on the running dev network -------------------------------------

def test_predeployed_auto_score_over_web3(request):
    """On the running dev network, through web3.py: register two Auto IDs in the predeployed
    AutoId, link a controller, and have governance admit the verifier; a third party then
    submits the verifier's EIP-712 attestation to the predeployed AutoScore. Replay and
    non-governance calls are refused with their reasons."""
    if not AUTO_ID_SOURCE.exists():
        pytest.skip("contracts/AutoId.vy is not written yet, so the registries are not predeployed")
    from web3 import Web3
    from web3.exceptions import ContractLogicError

    dev_node = request.getfixturevalue("dev_node")
    w3 = Web3(Web3.HTTPProvider(dev_node.url, request_kwargs={"timeout": 60}))
    if not w3.eth.get_code(AUTO_SCORE_PREDEPLOY) or not w3.eth.get_code(AUTO_ID_PREDEPLOY):
        pytest.skip(f"no code at {AUTO_ID_PREDEPLOY} or {AUTO_SCORE_PREDEPLOY}: not predeployed on the dev network")
    abi, _ = vyper(AUTO_SCORE_SOURCE.read_text())
    score = w3.eth.contract(address=AUTO_SCORE_PREDEPLOY, abi=abi)
    governance = Account.from_key(dev_node.accounts[0][1])
    relayer = Account.from_key(dev_node.accounts[8][1])        # sends registrations, relays the attestation
    controller = Account.create()                              # the verifier's controller: it only signs

    def send(calls, account=relayer):
        """Send (to, data) transactions in order (consecutive nonces) and wait for them all."""
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        hashes = []
        for i, (to, data) in enumerate(calls):
            tx = {"to": to_checksum_address(to), "data": data, "nonce": nonce + i, "chainId": dev_node.chain_id,
                  "gas": 2_000_000, "maxFeePerGas": w3.eth.gas_price * 2 + 10**9, "maxPriorityFeePerGas": 10**9}
            hashes.append(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
        receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=60) for h in hashes]
        assert [r.status for r in receipts] == [1] * len(calls)
        return receipts

    ids = RealAutoIds(send, lambda to, data: bytes(w3.eth.call({"to": to_checksum_address(to), "data": data})))
    assert score.functions.governance().call() == governance.address
    assert score.functions.autoId().call() == AUTO_ID_PREDEPLOY
    domain = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [
        keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
        keccak(text="AutoScore"), keccak(text="1"), dev_node.chain_id, AUTO_SCORE_PREDEPLOY]))
    assert score.functions.domainSeparator().call() == domain

    # two root Auto IDs, registered and the verifier's controller linked, in one block
    verifier, verifier_key, calls = ids.register_calls("web3-verifier")
    subject, _, more = ids.register_calls("web3-subject")
    send(calls + more)
    send([ids.link_call(verifier, verifier_key, controller.address)])
    assert ids.is_controller(verifier, controller.address)

    # governance only
    test_type = blake2b256(b"AutoScoreWeb3Test")
    with pytest.raises(ContractLogicError, match="auto score: only governance"):
        score.functions.setWeight(test_type, 5).call({"from": relayer.address})
    receipts = send([(AUTO_SCORE_PREDEPLOY, score.encode_abi("admitVerifier", [verifier])),
                     (AUTO_SCORE_PREDEPLOY, score.encode_abi("setWeight", [test_type, 40]))], account=governance)
    (event,) = score.events.WeightSet().process_receipt(receipts[1])
    assert event.args.claimType == test_type and event.args.weight == 40
    assert score.functions.score(subject).call() == 0 and not score.functions.meets(subject, 40).call()

    # the controller signs an attestation off-chain; the relayer submits it
    cid = claim_id("web3-test", fresh_id("account").hex())
    expires = w3.eth.get_block("latest")["timestamp"] + 30 * DAY
    message = {
        "types": ATTESTATION_TYPES, "primaryType": "Attestation",
        "domain": {"name": "AutoScore", "version": "1", "chainId": dev_node.chain_id,
                   "verifyingContract": AUTO_SCORE_PREDEPLOY},
        "message": {"verifier": verifier, "subject": subject, "claimType": test_type, "claimId": cid,
                    "expiresAt": expires, "nonce": 1},
    }
    signature = bytes(controller.sign_typed_data(full_message=message).signature)
    attest = score.functions.attestBySig(verifier, subject, test_type, cid, expires, 1, signature)
    (receipt,) = send([(AUTO_SCORE_PREDEPLOY, attest._encode_transaction_data())])
    (event,) = score.events.ClaimAttested().process_receipt(receipt)
    assert (event.args.subject, event.args.claimId, event.args.verifier) == (subject, cid, verifier)
    assert score.functions.score(subject).call() == 40 and score.functions.meets(subject, 40).call()
    with pytest.raises(ContractLogicError, match="auto score: nonce already used"):
        attest.call({"from": relayer.address})
