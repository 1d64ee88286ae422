"""Auto ID (contracts/AutoId.vy, spec domains.md §5.1) on an in-process dev domain.

Certificates come from the `cryptography` package and from the `openssl` command, for all
four key types (RSA-2048, ECDSA P-256, ECDSA secp256k1, Ed25519). The contract is the one the
dev genesis predeploys at 0xA070…0001 (deployed fresh when the genesis has none); it calls
the X.509 precompile at 0x…0801.

Each action is first simulated (eth_call at the next block) so a rejection yields its revert
reason, then sent and sealed in a block. Block times follow the wall clock (openssl's
certificates start now), except in the expiry tests, which move the chain's clock forward on
their own chain.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_canonical_address, to_checksum_address

from domains import auto_id as aid
from domains.auto_id import ActionType, action_message, certificate_parts, generate_key, identifier_of
from domains.evm.chain import DomainChain
from domains.evm.execution import CallRequest, call, next_block_header
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode

ACCOUNTS = dev_accounts()
ALICE, ALICE_KEY = ACCOUNTS[0]
BOB, BOB_KEY = ACCOUNTS[1]
ZERO = bytes(32)
UTC = datetime.timezone.utc

# status codes
ACTIVE, NOT_REGISTERED, DEACTIVATED, REVOKED, EXPIRED, NOT_YET_VALID, ISSUER_INACTIVE = range(7)


class Rejected(AssertionError):
    """A simulated action reverted; the message is its revert reason."""


class World(SimpleNamespace):
    """A dev domain with AutoId, and helpers to call it."""

    @classmethod
    def create(cls, path, genesis_time: int) -> "World":
        chain = DomainChain.create(path, dev_genesis(timestamp=genesis_time))
        node = DomainNode(chain)
        w = cls(chain=chain, node=node, clock=None)
        w.address = aid._ensure_auto_id(node, ALICE_KEY)
        w.functions = {f["name"]: f for f in aid.auto_id_abi() if f["type"] == "function"}
        return w

    def close(self):
        self.chain.close()

    # time: the wall clock, or a set clock for the expiry tests
    def next_time(self) -> int:
        now = self.clock if self.clock is not None else int(time.time())
        return max(self.chain.head().timestamp + 1, now)

    def encode(self, name: str, *args) -> bytes:
        types = [i["type"] for i in self.functions[name]["inputs"]]
        return function_signature_to_4byte_selector(f"{name}({','.join(types)})") + encode(types, list(args))

    def decode(self, name: str, output: bytes):
        values = decode([o["type"] for o in self.functions[name]["outputs"]], output)
        return values[0] if len(values) == 1 else values

    def view(self, name: str, *args):
        request = CallRequest.from_json({"to": to_checksum_address(self.address),
                                         "input": "0x" + self.encode(name, *args).hex()})
        result = call(self.chain, request, self.chain.head())
        assert result.success, result.reason
        return self.decode(name, result.output)

    def simulate(self, name: str, *args, sender: str = ALICE):
        request = CallRequest.from_json({"from": sender, "to": to_checksum_address(self.address),
                                         "input": "0x" + self.encode(name, *args).hex(), "gas": hex(10_000_000)})
        return call(self.chain, request, next_block_header(self.chain, timestamp=self.next_time()))

    def act(self, name: str, *args, key: bytes = ALICE_KEY):
        """Simulate, then send and seal; returns (decoded output, receipt). Raises Rejected."""
        result = self.simulate(name, *args, sender=Account.from_key(key).address)
        if not result.success:
            raise Rejected(result.reason)
        (receipt,) = self.send_all([(name, args)], key=key)
        assert receipt.state_root == b"\x01", f"{name} passed in simulation but failed on chain"
        return (self.decode(name, result.output) if self.functions[name]["outputs"] else None), receipt

    def reject(self, name: str, *args, key: bytes = ALICE_KEY) -> str:
        """The revert reason of an action that must fail."""
        result = self.simulate(name, *args, sender=Account.from_key(key).address)
        assert not result.success, f"{name} should have been rejected"
        return result.reason

    def send_all(self, calls, key: bytes = ALICE_KEY) -> tuple:
        """Send several calls in one block, in order; returns the receipts."""
        sender = to_canonical_address(Account.from_key(key).address)
        for name, args in calls:
            tx = {"chainId": self.chain.chain_id, "nonce": self.node.next_nonce(sender), "value": 0,
                  "gas": 5_000_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2,
                  "to": to_checksum_address(self.address), "data": self.encode(name, *args)}
            self.node.submit_raw_transaction(Account.sign_transaction(tx, key).raw_transaction)
        built = self.node.produce_block(timestamp=self.next_time())
        assert len(built.receipts) == len(calls), built.dropped
        return built.receipts

    # Auto ID actions
    def register(self, certificate: x509.Certificate, issuer_id: bytes = ZERO) -> bytes:
        parts = certificate_parts(certificate)
        auto_id, _ = self.act("register", issuer_id, parts.tbs, parts.signature_algorithm, parts.signature)
        assert auto_id == identifier_of(certificate, issuer_id)
        return auto_id

    def reject_register(self, certificate: x509.Certificate, issuer_id: bytes = ZERO) -> str:
        name, args = self.register_call(certificate, issuer_id)
        return self.reject(name, *args)

    def register_call(self, certificate: x509.Certificate, issuer_id: bytes = ZERO) -> tuple:
        parts = certificate_parts(certificate)
        return ("register", (issuer_id, parts.tbs, parts.signature_algorithm, parts.signature))

    def signed(self, signer_key, auto_id: bytes, nonce: int, action: ActionType, account=None) -> tuple:
        return aid.sign_action(signer_key, self.chain.chain_id, self.address, auto_id, nonce, action, account)

    def revoke_args(self, auto_id: bytes, issuer_key, nonce: int | None = None) -> tuple:
        issuer = self.view("getAutoId", auto_id)[0]
        signer = auto_id if issuer == ZERO else issuer
        nonce = self.view("nonceOf", signer) if nonce is None else nonce
        return (auto_id, nonce, *self.signed(issuer_key, auto_id, nonce, ActionType.REVOKE_CERTIFICATE))

    def deactivate_args(self, auto_id: bytes, key, nonce: int | None = None) -> tuple:
        nonce = self.view("nonceOf", auto_id) if nonce is None else nonce
        return (auto_id, nonce, *self.signed(key, auto_id, nonce, ActionType.DEACTIVATE_AUTO_ID))

    def link_args(self, auto_id: bytes, key, account: str, nonce: int | None = None,
                  action: ActionType = ActionType.LINK_ADDRESS) -> tuple:
        nonce = self.view("nonceOf", auto_id) if nonce is None else nonce
        return (auto_id, account, nonce, *self.signed(key, auto_id, nonce, action, account))

    def renew_args(self, auto_id: bytes, certificate: x509.Certificate) -> tuple:
        parts = certificate_parts(certificate)
        return (auto_id, parts.tbs, parts.signature_algorithm, parts.signature)

    def status(self, auto_id: bytes) -> int:
        return self.view("status", auto_id)

    def active(self, auto_id: bytes) -> bool:
        return self.view("isActive", auto_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World.create(tmp_path_factory.mktemp("autoid") / "d", int(time.time()) - 600)
    yield w
    w.close()


_names = iter(range(10**6))


def fresh(prefix: str) -> str:
    """A common name not used before in this session (identifiers must be new)."""
    return f"{prefix} {next(_names)} {time.time_ns()}"


def root_and_leaf(key_type: str = "ed25519", **leaf_validity):
    root_key, leaf_key = generate_key(key_type), generate_key(key_type)
    root = aid.self_signed_certificate(root_key, fresh("root"))
    leaf = aid.issue_certificate(root_key, root, leaf_key.public_key(), fresh("leaf"), **leaf_validity)
    return root_key, root, leaf_key, leaf


# -- the off-chain half matches the contract -----------------------------------------------------

def test_identifiers_and_action_messages_match_the_contract(world):
    cn = "Ünïcode común name".encode()
    assert world.view("identifierOf", ZERO, cn) == aid.auto_id_identifier(cn) == aid.blake2b256(cn)
    issuer = aid.auto_id_identifier(b"issuer")
    assert world.view("identifierOf", issuer, cn) == aid.auto_id_identifier(cn, issuer) == aid.blake2b256(issuer + cn)
    some_id = bytes(range(32))
    for action in ActionType:
        account = BOB if action in (ActionType.LINK_ADDRESS, ActionType.UNLINK_ADDRESS) else None
        on_chain = world.view("actionMessage", some_id, 0x0102, int(action), account or "0x" + "00" * 20)
        assert on_chain == action_message(world.chain.chain_id, world.address, some_id, 0x0102, action, account)
    message = action_message(world.chain.chain_id, world.address, some_id, 0x0102, ActionType.LINK_ADDRESS, BOB)
    assert message[:9] == b"AutoId/v1" and len(message) == 9 + 32 + 20 + 32 + 32 + 1 + 20
    assert message[61 + 32:61 + 64] == (0x0102).to_bytes(32, "little") and message[125] == 2
    assert world.view("isActive", some_id) is False and world.status(some_id) == NOT_REGISTERED


# -- chains of certificates ----------------------------------------------------------------------

@pytest.mark.parametrize("key_type", aid.KEY_TYPES)
def test_root_leaf_leaf_chain_from_cryptography(world, key_type):
    keys = [generate_key(key_type) for _ in range(3)]
    root = aid.self_signed_certificate(keys[0], fresh(f"{key_type} root"))
    leaf = aid.issue_certificate(keys[0], root, keys[1].public_key(), fresh(f"{key_type} leaf"))
    leaf2 = aid.issue_certificate(keys[1], leaf, keys[2].public_key(), fresh(f"{key_type} leaf2"))
    root_id = identifier_of(root)
    leaf_id = identifier_of(leaf, root_id)
    leaf2_id = identifier_of(leaf2, leaf_id)
    receipts = world.send_all([world.register_call(root), world.register_call(leaf, root_id),
                               world.register_call(leaf2, leaf_id)])
    assert all(r.state_root == b"\x01" for r in receipts)
    for auto_id in (root_id, leaf_id, leaf2_id):
        assert world.active(auto_id) and world.status(auto_id) == ACTIVE

    issuer, serial, cn, spki, not_before, not_after, nonce, tbs_hash, depth, generation = \
        world.view("getAutoId", leaf2_id)
    assert (issuer, serial, depth, generation, nonce) == (leaf_id, leaf2.serial_number, 2, 1, 0)
    assert cn == aid.common_name_of(leaf2.subject).encode()
    assert spki == keys[2].public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    assert not_before == int(leaf2.not_valid_before_utc.timestamp()) * 1000
    assert not_after == int(leaf2.not_valid_after_utc.timestamp()) * 1000
    assert world.view("isSerialIssued", leaf_id, leaf2.serial_number)
    assert world.view("isSerialIssued", root_id, leaf.serial_number)
    assert world.view("isSerialIssued", root_id, root.serial_number)  # a root's own serial

    # the event carries the whole certificate: TBS, algorithm and signature
    log = receipts[2].logs[0]
    assert log.address == to_canonical_address(world.address)
    assert log.topics[1] == int.from_bytes(leaf2_id, "big") and log.topics[2] == int.from_bytes(leaf_id, "big")
    _, _, tbs, algorithm, signature = decode(["uint256", "bytes", "bytes", "bytes", "bytes"], log.data)
    assert (tbs, signature) == (leaf2.tbs_certificate_bytes, leaf2.signature)
    assert algorithm == aid.signature_algorithm_of(keys[1])


def openssl(*args, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


OPENSSL_KEYS = {
    "rsa": ["-newkey", "rsa:2048"],
    "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "secp256k1": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
    "ed25519": ["-newkey", "ed25519"],
}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")
@pytest.mark.parametrize("key_type", aid.KEY_TYPES)
def test_root_leaf_leaf_chain_from_openssl(world, key_type, tmp_path):
    digest = [] if key_type == "ed25519" else ["-sha256"]
    names = [fresh(f"openssl {key_type} {n}").replace(" ", "-") for n in ("root", "leaf", "leaf2")]
    openssl("req", "-x509", *OPENSSL_KEYS[key_type], *digest, "-nodes", "-keyout", "root.key", "-out", "root.pem",
            "-subj", f"/O=Autonomys/CN={names[0]}", "-days", "2", cwd=tmp_path)
    for parent, child, serial in (("root", "leaf", "0x1001"), ("leaf", "leaf2", "0x1002")):
        name = names[1] if child == "leaf" else names[2]
        openssl("req", "-new", *OPENSSL_KEYS[key_type], "-nodes", "-keyout", f"{child}.key", "-out", f"{child}.csr",
                "-subj", f"/CN={name}/O=Autonomys", cwd=tmp_path)
        openssl("x509", "-req", "-in", f"{child}.csr", "-CA", f"{parent}.pem", "-CAkey", f"{parent}.key",
                "-set_serial", serial, "-days", "1", *digest, "-out", f"{child}.pem", cwd=tmp_path)
    root, leaf, leaf2 = (aid.load_certificate(tmp_path / f"{n}.pem") for n in ("root", "leaf", "leaf2"))
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    leaf2_id = world.register(leaf2, leaf_id)
    assert root_id == aid.auto_id_identifier(names[0])
    assert leaf2_id == aid.blake2b256(leaf_id + names[2].encode())
    assert all(world.active(i) for i in (root_id, leaf_id, leaf2_id))
    assert world.view("getAutoId", leaf2_id)[1] == 0x1002

    # openssl's keys sign actions too: the leaf revokes leaf2, then deactivates itself
    leaf_key = aid.load_private_key(tmp_path / "leaf.key")
    world.act("revoke", *world.revoke_args(leaf2_id, leaf_key))
    assert world.status(leaf2_id) == REVOKED and world.view("isSerialRevoked", leaf_id, 0x1002)
    world.act("deactivate", *world.deactivate_args(leaf_id, leaf_key))
    assert world.status(leaf_id) == DEACTIVATED and world.active(root_id)


def test_register_a_whole_der_certificate(world):
    root_key, root, _, leaf = root_and_leaf("secp256k1")
    der = root.public_bytes(serialization.Encoding.DER)
    root_id, _ = world.act("registerCertificate", ZERO, der)
    assert root_id == identifier_of(root) and world.active(root_id)
    leaf_id, _ = world.act("registerCertificate", root_id, leaf.public_bytes(serialization.Encoding.DER))
    assert leaf_id == identifier_of(leaf, root_id) and world.active(leaf_id)
    # the root's own certificate as a child of itself: issuer and signature fit, the serial is taken
    assert world.reject("registerCertificate", root_id, der) == \
        "duplicate serial: the issuer already issued this serial number"
    assert world.reject("registerCertificate", leaf_id, der) == "wrong issuer: the certificate names another issuer"


def test_a_certificate_signing_request_becomes_a_registered_leaf(world):
    root_key, subject_key = generate_key("p256"), generate_key("rsa")
    root = aid.self_signed_certificate(root_key, fresh("csr root"))
    csr = aid.make_csr(subject_key, fresh("csr subject"))
    leaf = aid.issue_certificate(root_key, root, csr.public_key(), aid.common_name_of(csr.subject))
    root_id = world.register(root)
    assert world.active(world.register(leaf, root_id))


# -- actions and the cascade ---------------------------------------------------------------------

@pytest.mark.parametrize("key_type", aid.KEY_TYPES)
def test_link_revoke_and_deactivate_cascade(world, key_type):
    keys = [generate_key(key_type) for _ in range(3)]
    root = aid.self_signed_certificate(keys[0], fresh("cascade root"))
    leaf = aid.issue_certificate(keys[0], root, keys[1].public_key(), fresh("cascade leaf"))
    leaf2 = aid.issue_certificate(keys[1], leaf, keys[2].public_key(), fresh("cascade leaf2"))
    root_id = identifier_of(root)
    leaf_id = identifier_of(leaf, root_id)
    leaf2_id = identifier_of(leaf2, leaf_id)
    world.send_all([world.register_call(root), world.register_call(leaf, root_id),
                    world.register_call(leaf2, leaf_id)])

    # link: the certificate key signs; anyone submits
    world.act("linkAddress", *world.link_args(leaf2_id, keys[2], BOB))
    assert world.view("isController", leaf2_id, BOB) and not world.view("isController", leaf2_id, ALICE)
    assert world.view("nonceOf", leaf2_id) == 1

    # revoke the middle certificate: signed by the root, the root's nonce moves
    world.act("revoke", *world.revoke_args(leaf_id, keys[0]))
    assert world.view("nonceOf", root_id) == 1
    assert world.view("isSerialRevoked", root_id, leaf.serial_number)
    assert world.status(leaf_id) == REVOKED
    assert world.status(leaf2_id) == ISSUER_INACTIVE and not world.active(leaf2_id)
    assert not world.view("isController", leaf2_id, BOB)   # the cascade reaches controllers
    assert world.active(root_id)

    # deactivating the root makes everything below inactive as well
    world.act("deactivate", *world.deactivate_args(root_id, keys[0]))
    assert world.status(root_id) == DEACTIVATED and world.view("nonceOf", root_id) == 2


def test_revoked_and_deactivated_issuers_cannot_issue(world):
    root_key, root, leaf_key, leaf = root_and_leaf()
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    child = aid.issue_certificate(leaf_key, leaf, generate_key("ed25519").public_key(), fresh("child"))

    world.act("revoke", *world.revoke_args(leaf_id, root_key))
    parts = certificate_parts(child)
    args = (leaf_id, parts.tbs, parts.signature_algorithm, parts.signature)
    assert world.reject("register", *args) == "issuer revoked"

    root2_key, root2, leaf2_key, leaf2 = root_and_leaf()
    root2_id = world.register(root2)
    leaf2_id = world.register(leaf2, root2_id)
    child2 = aid.issue_certificate(leaf2_key, leaf2, generate_key("ed25519").public_key(), fresh("child"))
    world.act("deactivate", *world.deactivate_args(root2_id, root2_key))
    parts = certificate_parts(child2)
    assert world.reject("register", leaf2_id, parts.tbs, parts.signature_algorithm, parts.signature) == \
        "issuer inactive: a certificate above it is deactivated, revoked or expired"
    parts = certificate_parts(aid.issue_certificate(root2_key, root2, leaf2_key.public_key(), fresh("x")))
    assert world.reject("register", root2_id, parts.tbs, parts.signature_algorithm, parts.signature) == \
        "issuer deactivated"


def test_a_root_revokes_itself(world):
    root_key, root, _, leaf = root_and_leaf("p256")
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    world.act("revoke", *world.revoke_args(root_id, root_key))
    assert world.status(root_id) == REVOKED and world.status(leaf_id) == ISSUER_INACTIVE
    assert world.view("isSerialRevoked", root_id, root.serial_number)
    assert world.reject("revoke", *world.revoke_args(root_id, root_key)) == "already revoked"
    assert world.reject_register(root) == "identifier exists"


def test_renew_keeps_key_identifier_nonce_and_issued_serials(world):
    root_key, root, leaf_key, leaf = root_and_leaf("secp256k1")
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    world.act("linkAddress", *world.link_args(root_id, root_key, BOB))
    cn = aid.common_name_of(root.subject)

    renewed_root = aid.self_signed_certificate(root_key, cn, days=30)
    _, receipt = world.act("renew", *world.renew_args(root_id, renewed_root))
    assert world.view("isSerialRevoked", root_id, root.serial_number)    # old serial into the CRL
    assert world.view("isSerialIssued", root_id, leaf.serial_number)      # issued serials carried over
    issuer, serial, *_, nonce, _, depth, generation = world.view("getAutoId", root_id)
    assert (issuer, serial, nonce, depth, generation) == (ZERO, renewed_root.serial_number, 1, 0, 1)
    assert world.active(root_id) and world.active(leaf_id)          # the leaf is still fine
    assert world.view("isController", root_id, BOB)                  # so are the links
    old, new = decode(["uint256", "uint256"], receipt.logs[0].data[:64])
    assert (old, new) == (root.serial_number, renewed_root.serial_number)

    # a leaf renews with a certificate from its issuer
    leaf_cn = aid.common_name_of(leaf.subject)
    renewed_leaf = aid.issue_certificate(root_key, renewed_root, leaf_key.public_key(), leaf_cn)
    world.act("renew", *world.renew_args(leaf_id, renewed_leaf))
    assert world.view("isSerialRevoked", root_id, leaf.serial_number) and world.active(leaf_id)

    # rejections
    other = aid.self_signed_certificate(root_key, cn + " (other)")
    assert world.reject("renew", *world.renew_args(root_id, other)) == \
        "wrong common name: the renewed certificate derives another identifier"
    new_key = generate_key("secp256k1")
    assert world.reject("renew", *world.renew_args(root_id, aid.self_signed_certificate(new_key, cn))) == \
        "public key differs: a renewed certificate must keep the subject public key"
    same_serial = aid.self_signed_certificate(root_key, cn, serial=renewed_leaf.serial_number)
    assert world.reject("renew", *world.renew_args(root_id, same_serial)) == \
        "duplicate serial: the issuer already issued this serial number"
    old_serial = aid.self_signed_certificate(root_key, cn, serial=root.serial_number)
    assert world.reject("renew", *world.renew_args(root_id, old_serial)) == \
        "serial revoked: it is in the issuer's revocation list"
    stranger_key = generate_key("secp256k1")
    stranger = aid.self_signed_certificate(stranger_key, "stranger")
    by_stranger = aid.issue_certificate(stranger_key, stranger, leaf_key.public_key(), aid.common_name_of(leaf.subject))
    assert world.reject("renew", *world.renew_args(leaf_id, by_stranger)) == \
        "wrong issuer: the certificate names another issuer"
    world.act("revoke", *world.revoke_args(leaf_id, root_key))
    again = aid.issue_certificate(root_key, renewed_root, leaf_key.public_key(), aid.common_name_of(leaf.subject))
    assert world.reject("renew", *world.renew_args(leaf_id, again)) == \
        "certificate revoked: a revoked certificate cannot be renewed"


def test_deactivated_identifier_registers_again_as_a_new_generation(world):
    root_key, root, leaf_key, leaf = root_and_leaf()
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    world.act("linkAddress", *world.link_args(root_id, root_key, BOB))
    deactivate = world.deactivate_args(root_id, root_key)
    world.act("deactivate", *deactivate)
    assert world.reject("deactivate", *deactivate) == "auto id deactivated"

    renewed = aid.self_signed_certificate(root_key, aid.common_name_of(root.subject))
    assert world.register(renewed) == root_id
    issuer, serial, *_, nonce, _, depth, generation = world.view("getAutoId", root_id)
    assert (generation, nonce) == (2, 2)                       # the nonce is never reset
    assert world.active(root_id)
    assert world.status(leaf_id) == ISSUER_INACTIVE             # issued under generation 1
    assert not world.view("isController", root_id, BOB)        # links belong to generation 1
    # the old signature stays spent, and the leaf's identifier may be registered again
    assert world.reject("deactivate", *deactivate) == "replayed nonce: that nonce was already used"
    reissued = aid.issue_certificate(root_key, renewed, leaf_key.public_key(), aid.common_name_of(leaf.subject))
    assert world.register(reissued, root_id) == leaf_id and world.active(leaf_id)


def test_chain_length_is_bounded(world):
    keys = [generate_key("ed25519") for _ in range(9)]
    certificates = [aid.self_signed_certificate(keys[0], fresh("depth 0"))]
    ids = [identifier_of(certificates[0])]
    for level in range(1, 9):
        certificates.append(aid.issue_certificate(keys[level - 1], certificates[-1], keys[level].public_key(),
                                                  fresh(f"depth {level}")))
        ids.append(identifier_of(certificates[-1], ids[-1]))
    calls = [world.register_call(certificates[0])] + [world.register_call(c, i) for c, i in
                                                      zip(certificates[1:8], ids[:7])]
    receipts = world.send_all(calls)
    assert all(r.state_root == b"\x01" for r in receipts)
    assert world.view("getAutoId", ids[7])[8] == 7 and world.active(ids[7])
    assert world.reject_register(certificates[8], ids[7]) == \
        "chain too long: at most 8 certificates from the root"
    # deactivating the root reaches the bottom of the longest chain
    world.act("deactivate", *world.deactivate_args(ids[0], keys[0]))
    assert world.status(ids[7]) == ISSUER_INACTIVE


# -- controllers ---------------------------------------------------------------------------------

def test_link_and_unlink_address(world):
    root_key, root, leaf_key, leaf = root_and_leaf("rsa")
    root_id = world.register(root)
    leaf_id = world.register(leaf, root_id)
    carol = ACCOUNTS[2][0]

    bad = world.link_args(leaf_id, root_key, BOB)              # the issuer's key is not the subject's
    assert world.reject("linkAddress", *bad) == "bad signature: the action is not signed by the certificate key"
    for_carol = world.link_args(leaf_id, leaf_key, carol)
    assert world.reject("linkAddress", leaf_id, BOB, *for_carol[2:]) == \
        "bad signature: the action is not signed by the certificate key"   # signed for another account
    world.act("linkAddress", *world.link_args(leaf_id, leaf_key, BOB))
    world.act("linkAddress", *world.link_args(leaf_id, leaf_key, carol))
    assert world.view("isController", leaf_id, BOB) and world.view("isController", leaf_id, carol)
    assert world.reject("linkAddress", *world.link_args(leaf_id, leaf_key, BOB)) == "account already linked"

    # the linked account unlinks itself without a signature; others need the key's signature
    world.act("unlinkAddress", leaf_id, BOB, 0, b"", b"", key=BOB_KEY)
    assert not world.view("isController", leaf_id, BOB)
    assert world.reject("unlinkAddress", leaf_id, carol, 0, b"", b"") == \
        "replayed nonce: that nonce was already used"
    world.act("unlinkAddress", *world.link_args(leaf_id, leaf_key, carol, action=ActionType.UNLINK_ADDRESS))
    assert not world.view("isController", leaf_id, carol)
    assert world.reject("unlinkAddress", leaf_id, carol, 0, b"", b"", key=ACCOUNTS[2][1]) == "account not linked"


# -- rejections ----------------------------------------------------------------------------------

def test_rejections_say_why(world):
    root_key, root, leaf_key, leaf = root_and_leaf("p256")
    root_id = world.register(root)
    parts = certificate_parts(leaf)

    # bad signature: a root whose signature is by another key
    impostor = (x509.CertificateBuilder().subject_name(root.subject).issuer_name(root.subject)
                .public_key(generate_key("p256").public_key()).serial_number(7)
                .not_valid_before(root.not_valid_before_utc).not_valid_after(root.not_valid_after_utc)
                .sign(generate_key("p256"), aid.hashes.SHA256()))
    fresh_impostor = (x509.CertificateBuilder().subject_name(aid._name(fresh("impostor")))
                      .issuer_name(aid._name("someone else")).public_key(leaf_key.public_key()).serial_number(7)
                      .not_valid_before(root.not_valid_before_utc).not_valid_after(root.not_valid_after_utc)
                      .sign(leaf_key, aid.hashes.SHA256()))
    assert world.reject_register(impostor) == "identifier exists"
    assert world.reject_register(fresh_impostor) == \
        "wrong issuer: a root certificate must name itself as its issuer"
    cn = fresh("bad sig")
    forged_root = (x509.CertificateBuilder().subject_name(aid._name(cn)).issuer_name(aid._name(cn))
                   .public_key(leaf_key.public_key()).serial_number(7)
                   .not_valid_before(root.not_valid_before_utc).not_valid_after(root.not_valid_after_utc)
                   .sign(root_key, aid.hashes.SHA256()))
    assert world.reject_register(forged_root) == \
        "bad signature: a root certificate must be signed by its own key"
    tampered = bytearray(parts.signature)
    tampered[-5] ^= 1
    assert world.reject("register", root_id, parts.tbs, parts.signature_algorithm, bytes(tampered)) == \
        "bad signature: the issuer's key did not sign the certificate"
    other_root_key = generate_key("p256")
    other_root = aid.self_signed_certificate(other_root_key, aid.common_name_of(root.subject) + "?")
    other_id = world.register(other_root)
    # wrong issuer: the leaf names the first root, registered under the other
    assert world.reject("register", other_id, parts.tbs, parts.signature_algorithm, parts.signature) == \
        "wrong issuer: the certificate names another issuer"
    # a leaf that names the right issuer but was signed by someone else
    forged_leaf = aid.issue_certificate(other_root_key, root, leaf_key.public_key(), fresh("forged"))
    fp = certificate_parts(forged_leaf)
    assert world.reject("register", root_id, fp.tbs, fp.signature_algorithm, fp.signature) == \
        "bad signature: the issuer's key did not sign the certificate"
    assert world.reject("register", aid.auto_id_identifier("nobody"), parts.tbs, parts.signature_algorithm,
                        parts.signature) == "wrong issuer: the issuer identifier is not registered"

    # malformed DER: the precompile's reason comes through unchanged
    reason = world.reject("register", ZERO, parts.tbs[:-3], parts.signature_algorithm, parts.signature)
    assert reason.startswith("malformed DER: "), reason
    assert world.reject("register", ZERO, b"\x30\x03\x02\x01", b"", b"").startswith("malformed DER: ")
    reason = world.reject("register", root_id, parts.tbs, b"\x30\x05\x06\x03\x2b\x65\x71", parts.signature)
    assert reason.startswith("unsupported algorithm"), reason
    reason = world.reject("register", root_id, parts.tbs, aid.ED25519, parts.signature)
    assert reason.startswith("key/algorithm mismatch"), reason
    assert world.reject("registerCertificate", ZERO, b"\x30\x00").startswith("malformed DER: ")

    # duplicate serial
    leaf_id = world.register(leaf, root_id)
    assert world.reject_register(leaf, root_id) == "identifier exists"
    twin = aid.issue_certificate(root_key, root, generate_key("p256").public_key(), fresh("twin"),
                                 serial=leaf.serial_number)
    assert world.reject_register(twin, root_id) == \
        "duplicate serial: the issuer already issued this serial number"

    # replayed and wrong nonces
    revoke = world.revoke_args(leaf_id, root_key)
    world.act("revoke", *revoke)
    assert world.reject("revoke", *revoke) == "already revoked"
    leaf3_key = generate_key("p256")
    leaf3_id = world.register(aid.issue_certificate(root_key, root, leaf3_key.public_key(), fresh("l3")), root_id)
    stale = world.revoke_args(leaf3_id, root_key, nonce=0)
    assert world.reject("revoke", *stale) == "replayed nonce: that nonce was already used"
    ahead = world.revoke_args(leaf3_id, root_key, nonce=5)
    assert world.reject("revoke", *ahead) == "wrong nonce: not the signer's current nonce"
    by_subject = world.revoke_args(leaf3_id, leaf3_key)    # the subject cannot revoke itself
    assert world.reject("revoke", *by_subject) == "bad signature: the action is not signed by the certificate key"
    assert world.reject("deactivate", *world.deactivate_args(leaf3_id, root_key)) == \
        "bad signature: the action is not signed by the certificate key"   # the issuer cannot deactivate it
    assert world.reject("deactivate", *world.deactivate_args(aid.auto_id_identifier("nobody"), root_key)) == \
        "auto id not registered"

    # the serial of a revoked certificate cannot be issued again
    reuse = aid.issue_certificate(root_key, root, generate_key("p256").public_key(), fresh("reuse"),
                                  serial=leaf.serial_number)
    assert world.reject_register(reuse, root_id) == "serial revoked: it is in the issuer's revocation list"

    # not yet valid
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=1)
    future = aid.issue_certificate(root_key, root, generate_key("p256").public_key(), fresh("future"),
                                   not_before=later, not_after=later + datetime.timedelta(days=1))
    assert world.reject_register(future, root_id) == "certificate not yet valid"


def test_a_reverted_registration_fails_on_chain(world):
    _, root, _, _ = root_and_leaf()
    world.register(root)
    (receipt,) = world.send_all([world.register_call(root)])
    assert receipt.state_root == b""                 # status 0: the identifier exists


# -- expiry (a chain whose clock the test sets) --------------------------------------------------

def test_expiry_cascades_and_renewal_revives(tmp_path):
    start = int(time.time()) - 3600
    w = World.create(tmp_path / "d", start)
    try:
        w.clock = start + 10
        t0 = datetime.datetime.fromtimestamp(start, UTC)
        root_key, leaf_key = generate_key("ed25519"), generate_key("rsa")
        root = aid.self_signed_certificate(root_key, fresh("short root"), not_before=t0,
                                           not_after=t0 + datetime.timedelta(minutes=10))
        leaf = aid.issue_certificate(root_key, root, leaf_key.public_key(), fresh("long leaf"), not_before=t0,
                                     not_after=t0 + datetime.timedelta(days=1))
        root_id = w.register(root)
        leaf_id = w.register(leaf, root_id)
        w.act("linkAddress", *w.link_args(leaf_id, leaf_key, BOB))
        assert w.active(leaf_id) and w.view("isController", leaf_id, BOB)

        w.clock = start + 601                  # block time past the root's notAfter
        w.send_all([])
        assert w.status(root_id) == EXPIRED and w.status(leaf_id) == ISSUER_INACTIVE
        assert not w.view("isController", leaf_id, BOB)
        child = aid.issue_certificate(root_key, root, generate_key("ed25519").public_key(), fresh("late"),
                                      not_before=t0, not_after=t0 + datetime.timedelta(days=1))
        assert w.reject_register(child, root_id) == "issuer expired"
        assert w.reject_register(aid.self_signed_certificate(
            generate_key("ed25519"), fresh("expired"), not_before=t0,
            not_after=t0 + datetime.timedelta(minutes=5))) == "certificate expired"

        # an expired certificate renews; what it issued is active again
        renewed = aid.self_signed_certificate(root_key, aid.common_name_of(root.subject), not_before=t0,
                                              not_after=t0 + datetime.timedelta(days=2))
        w.act("renew", *w.renew_args(root_id, renewed))
        assert w.active(root_id) and w.active(leaf_id) and w.view("isController", leaf_id, BOB)

        w.clock = start + 86_400 + 1           # now the leaf itself expires
        w.send_all([])
        assert w.status(leaf_id) == EXPIRED and w.active(root_id)
    finally:
        w.close()


# -- gas -----------------------------------------------------------------------------------------

def test_measure_gas_reports_register_root_and_leaf_per_key_type():
    gas = aid.measure_gas()
    assert set(gas) == set(aid.KEY_TYPES)
    for key_type, figures in gas.items():
        assert set(figures) == {"root", "leaf"}
        assert 100_000 < figures["root"] < figures["leaf"] < 1_500_000, (key_type, figures)
    assert gas["rsa"]["root"] > gas["ed25519"]["root"]     # a longer key costs more storage


# -- the Solidity interface ----------------------------------------------------------------------

def _signatures(abi: list) -> set[tuple]:
    def types(params):
        return ",".join(p["type"] for p in params)
    out = set()
    for item in abi:
        if item["type"] == "function":
            out.add(("function", item["name"], types(item["inputs"]), types(item["outputs"]), item["stateMutability"]))
        elif item["type"] == "event":
            out.add(("event", item["name"], tuple((p["type"], p["indexed"]) for p in item["inputs"])))
    return out


def test_the_solidity_interface_matches_the_contract():
    from tests.compile import solidity

    source = (aid.CONTRACT_SOURCE.parent / "interfaces" / "IAutoId.sol").read_text()
    interface_abi, _ = solidity(source, "IAutoId")
    assert _signatures(interface_abi) == _signatures(aid.auto_id_abi())


# -- through web3.py against the running dev network ---------------------------------------------

def fund_fresh_account(url: str, amount: int = 10**18) -> bytes:
    """A new EVM key funded from dev account 9 (no other test file sends from it), so this
    file's transactions never race another's nonces."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url))
    funder = Account.from_key(ACCOUNTS[9][1])
    fresh_account = Account.create()
    tx = {"chainId": w3.eth.chain_id, "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
          "to": fresh_account.address, "value": amount, "gas": 21_000, "maxFeePerGas": 10**11,
          "maxPriorityFeePerGas": 10**9, "type": 2}
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction), timeout=60)
    assert receipt.status == 1
    return bytes(fresh_account.key)


def test_auto_id_through_web3_on_the_dev_network(dev_node):
    client = aid.AutoIdClient(dev_node.url, fund_fresh_account(dev_node.url))
    assert client.w3.eth.get_code(aid.AUTO_ID_ADDRESS), "the dev genesis predeploys AutoId"
    root_key, root, leaf_key, leaf = root_and_leaf("rsa")
    root_id = identifier_of(root)
    leaf_id = identifier_of(leaf, root_id)

    # both sent before waiting (the leaf is simulated on the state that already has the root)
    first = client.register(root, wait=False)
    assert first.ok and first.tx_hash and first.receipt is None
    assert first.wait(client).ok
    second = client.register(leaf, root_id, wait=False)
    assert second.wait(client).ok, second.reason
    assert client.contract.functions.isActive(leaf_id).call()

    # a rejection found by the simulation: nothing is sent
    rejected = client.register(root)
    assert (rejected.tx_hash, rejected.ok, rejected.reason) == (None, False, "identifier exists")
    # one that fails on chain: the reason comes back by replaying it
    parts = certificate_parts(root)
    mined = client.send(client.contract.functions.register(ZERO, parts.tbs, parts.signature_algorithm,
                                                           parts.signature), simulate=False)
    assert mined.tx_hash and not mined.ok and mined.receipt.status == 0
    assert mined.reason == "identifier exists"

    linked = client.link_address(leaf_id, leaf_key, BOB)
    assert linked.ok, linked.reason
    assert client.contract.functions.isController(leaf_id, BOB).call()
    revoked = client.revoke(leaf_id, root_key)
    assert revoked.ok and not client.contract.functions.isController(leaf_id, BOB).call()
    shown = client.show(leaf_id)
    assert shown["status"] == "revoked" and shown["issuer_id"] == "0x" + root_id.hex()
    assert shown["common_name"] == aid.common_name_of(leaf.subject) and shown["nonce"] == 1
