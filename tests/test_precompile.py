"""The X.509 precompile at 0x…0801 (domains/evm/precompiles.py).

Certificates come from the `cryptography` package and from the `openssl` command, for RSA-2048,
P-256, secp256k1 and Ed25519 keys (a self-signed root and a leaf signed by it). The precompile
runs as py-evm runs it: a message to its address in a scratch Prague state of the domain's VM
(so the gas is what a CALL is charged), and from a Vyper contract via STATICCALL in a block of
an in-process DomainChain.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from eth import constants
from eth.db.atomic import AtomicDB
from eth.vm.chain_context import ChainContext
from eth.vm.forks import PragueVM
from eth.vm.message import Message
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_canonical_address, to_checksum_address

from domains.evm import precompiles as P
from domains.evm.chain import DomainChain, domain_vm_class
from domains.evm.execution import CallRequest, call
from domains.evm.genesis import dev_accounts, dev_genesis
from domains.evm.node import DomainNode
from domains.evm.revert import decode_revert_reason
from tests.compile import vyper

UTC = datetime.timezone.utc
NOT_BEFORE = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2051, 6, 7, 8, 9, 10, tzinfo=UTC)   # GeneralizedTime (>= 2050)
ADDRESS = P.X509_PRECOMPILE_ADDRESS
KEY_TYPES = ("rsa2048", "p256", "secp256k1", "ed25519")


def new_key(kind: str):
    if kind == "rsa2048":
        return rsa.generate_private_key(65537, 2048)
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    return ed25519.Ed25519PrivateKey.generate()


def make_certificate(subject_cn: str, subject_key, issuer_cn: str, issuer_key, serial: int) -> bytes:
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Autonomys tests"),
                                        x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
               .public_key(subject_key.public_key())
               .serial_number(serial)
               .not_valid_before(NOT_BEFORE)
               .not_valid_after(NOT_AFTER)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm).public_bytes(serialization.Encoding.DER)


@dataclass
class Chain2:
    """A root certificate and a leaf it issued, with the parsed `cryptography` objects."""

    kind: str
    root: bytes
    leaf: bytes

    @property
    def root_cert(self):
        return x509.load_der_x509_certificate(self.root)

    @property
    def leaf_cert(self):
        return x509.load_der_x509_certificate(self.leaf)


@pytest.fixture(scope="module", params=KEY_TYPES)
def made_by_cryptography(request) -> Chain2:
    root_key, leaf_key = new_key(request.param), new_key(request.param)
    root = make_certificate(f"root {request.param} ü", root_key, f"root {request.param} ü", root_key,
                            serial=2**158 + 12345)
    leaf = make_certificate(f"leaf {request.param}", leaf_key, f"root {request.param} ü", root_key, serial=7)
    return Chain2(request.param, root, leaf)


OPENSSL_KEYS = {
    "rsa2048": ["-newkey", "rsa:2048"],
    "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
    "secp256k1": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
    "ed25519": ["-newkey", "ed25519"],
}


def openssl_chain(kind: str, d) -> Chain2:
    """A root and a leaf made by the `openssl` command in directory `d` (skips without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    digest = [] if kind == "ed25519" else ["-sha256"]

    def run(*args):
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", *OPENSSL_KEYS[kind], "-nodes", "-keyout", "root.key", "-out", "root.der",
        "-outform", "DER", "-subj", f"/CN=openssl root {kind}", "-days", "30", *digest, "-set_serial", "4242")
    run("req", "-new", *OPENSSL_KEYS[kind], "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", f"/O=Org/CN=openssl leaf {kind}")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "root.der", "-CAform", "DER", "-CAkey", "root.key",
        "-set_serial", "0x0100", "-days", "10", *digest, "-outform", "DER", "-out", "leaf.der")
    return Chain2(kind, (d / "root.der").read_bytes(), (d / "leaf.der").read_bytes())


@pytest.fixture(scope="module", params=KEY_TYPES)
def made_by_openssl(request, tmp_path_factory) -> Chain2:
    return openssl_chain(request.param, tmp_path_factory.mktemp(f"openssl-{request.param}"))


# -- running the precompile as py-evm does ---------------------------------------------------


@dataclass
class Outcome:
    success: bool
    output: bytes
    gas_used: int

    @property
    def reason(self) -> str | None:
        return decode_revert_reason(self.output)


def run_precompile(data: bytes, gas: int = 10_000_000) -> Outcome:
    """A message to the precompile with `gas`, in a scratch state of the domain's Prague VM."""
    vm_class = domain_vm_class(PragueVM)
    header = vm_class.create_genesis_header(difficulty=0, gas_limit=30_000_000, timestamp=0,
                                            base_fee_per_gas=0, parent_beacon_block_root=constants.ZERO_HASH32)
    state_class = vm_class.get_state_class()
    state = state_class(AtomicDB(), vm_class.create_execution_context(header, (), ChainContext(1)),
                        constants.BLANK_ROOT_HASH)
    sender = b"\x11" * 20
    tx_context = state_class.get_transaction_context_class()(gas_price=0, origin=sender)
    message = Message(gas=gas, to=ADDRESS, sender=sender, value=0, data=data, code=b"")
    computation = state_class.computation_class.apply_message(state, message, tx_context)
    return Outcome(computation.is_success, computation.output, computation.get_gas_used())


def calldata(name: str, *args) -> bytes:
    signature = P.SIGNATURES[name]
    types = signature[signature.index("(") + 1:-1].split(",")
    return function_signature_to_4byte_selector(signature) + encode(types, list(args))


def parse(tbs: bytes) -> tuple:
    out = run_precompile(calldata("parseTbsCertificate", tbs))
    assert out.success, out.reason
    assert out.gas_used == P.SCHEDULE["parseTbsCertificate"].of(len(calldata("parseTbsCertificate", tbs)))
    return decode(["uint256", "bytes", "bytes", "uint64", "uint64", "bytes"], out.output)


def split(certificate: bytes) -> tuple:
    out = run_precompile(calldata("splitCertificate", certificate))
    assert out.success, out.reason
    return decode(["bytes", "bytes", "bytes"], out.output)


def verify(spki: bytes, algorithm: bytes, data: bytes, signature: bytes) -> Outcome:
    return run_precompile(calldata("verifySignature", spki, algorithm, data, signature))


def spki_of(cert) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def algorithm_gas(kind: str) -> int:
    return {"rsa2048": P.rsa_verification_gas(2048), "p256": P.P256_GAS,
            "secp256k1": P.SECP256K1_GAS, "ed25519": P.ED25519_GAS}[kind]


def first_cn(name: x509.Name) -> bytes:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.encode()


# -- the interface ---------------------------------------------------------------------------


def test_selectors_are_the_solidity_signatures():
    assert P.SELECTORS["parseTbsCertificate"] == function_signature_to_4byte_selector("parseTbsCertificate(bytes)")
    assert P.SELECTORS["verifySignature"] == function_signature_to_4byte_selector(
        "verifySignature(bytes,bytes,bytes,bytes)")
    assert P.SELECTORS["splitCertificate"] == function_signature_to_4byte_selector("splitCertificate(bytes)")
    assert P.SELECTORS["blake2b256"] == function_signature_to_4byte_selector("blake2b256(bytes)")
    assert ADDRESS == to_canonical_address("0x0000000000000000000000000000000000000801")


def check_chain(chain: Chain2) -> None:
    """Split, parse and verify a root and its leaf, and compare with `cryptography`."""
    for der, cert, issuer in ((chain.root, chain.root_cert, chain.root_cert),
                              (chain.leaf, chain.leaf_cert, chain.root_cert)):
        tbs, algorithm, signature = split(der)
        assert tbs == cert.tbs_certificate_bytes
        assert signature == cert.signature
        serial, cn, spki, not_before, not_after, issuer_cn = parse(tbs)
        assert serial == cert.serial_number
        assert cn == first_cn(cert.subject)
        assert issuer_cn == first_cn(cert.issuer)
        assert spki == spki_of(cert)
        assert not_before == int(cert.not_valid_before_utc.timestamp()) * 1000
        assert not_after == int(cert.not_valid_after_utc.timestamp()) * 1000

        good = verify(spki_of(issuer), algorithm, tbs, signature)
        assert good.success, good.reason
        assert decode(["bool"], good.output) == (True,)
        words = (len(calldata("verifySignature", spki_of(issuer), algorithm, tbs, signature)) + 31) // 32
        assert good.gas_used == (P.SCHEDULE["verifySignature"].base + P.SCHEDULE["verifySignature"].per_word * words
                                 + algorithm_gas(chain.kind))
        flipped = bytearray(signature)
        flipped[len(flipped) // 2] ^= 0x01
        bad = verify(spki_of(issuer), algorithm, tbs, bytes(flipped))
        assert bad.success and decode(["bool"], bad.output) == (False,)
        changed = bytearray(tbs)
        changed[-1] ^= 0x80
        assert decode(["bool"], verify(spki_of(issuer), algorithm, bytes(changed), signature).output) == (False,)
    # the leaf's signature does not verify under its own key
    tbs, algorithm, signature = split(chain.leaf)
    assert decode(["bool"], verify(spki_of(chain.leaf_cert), algorithm, tbs, signature).output) == (False,)


def test_certificates_made_by_cryptography(made_by_cryptography):
    check_chain(made_by_cryptography)
    serial, cn, *_ = parse(split(made_by_cryptography.root)[0])
    assert serial == 2**158 + 12345 and cn == f"root {made_by_cryptography.kind} ü".encode()
    assert parse(split(made_by_cryptography.root)[0])[4] == int(NOT_AFTER.timestamp()) * 1000


def test_certificates_made_by_openssl(made_by_openssl):
    check_chain(made_by_openssl)
    assert parse(split(made_by_openssl.leaf)[0])[1] == f"openssl leaf {made_by_openssl.kind}".encode()
    assert parse(split(made_by_openssl.leaf)[0])[0] == 256


def test_blake2b256_matches_hashlib():
    for data in (b"", b"abc", bytes(range(256)) * 5):
        out = run_precompile(calldata("blake2b256", data))
        assert out.success
        assert out.output == hashlib.blake2b(data, digest_size=32).digest()
        assert out.gas_used == 60 + 12 * ((len(calldata("blake2b256", data)) + 31) // 32)


def test_rsa_gas_grows_with_the_square_of_the_modulus():
    assert P.rsa_verification_gas(2048) == 10_000
    assert P.rsa_verification_gas(3072) == 22_500
    assert P.rsa_verification_gas(4096) == 40_000
    key = rsa.generate_private_key(65537, 3072)
    cert = x509.load_der_x509_certificate(make_certificate("r3072", key, "r3072", key, 1))
    tbs, algorithm, signature = P.split_certificate(cert.public_bytes(serialization.Encoding.DER))
    data = calldata("verifySignature", spki_of(cert), algorithm, tbs, signature)
    out = run_precompile(data)
    assert decode(["bool"], out.output) == (True,)
    assert out.gas_used == P.SCHEDULE["verifySignature"].of(len(data)) + 22_500


# -- malformed and unsupported input ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    der = make_certificate("sample", key, "sample", key, 99)
    tbs, algorithm, signature = P.split_certificate(der)
    return {"der": der, "tbs": tbs, "algorithm": algorithm, "signature": signature,
            "spki": spki_of(x509.load_der_x509_certificate(der))}


@pytest.fixture(scope="module")
def rsa_tbs() -> bytes:
    """An RSA certificate's TBS: longer than 255 bytes, so its length has two octets."""
    key = rsa.generate_private_key(65537, 2048)
    return P.split_certificate(make_certificate("rsa sample", key, "rsa sample", key, 5))[0]


def fails(data: bytes, match: str, gas: int | None = None) -> Outcome:
    out = run_precompile(data)
    assert not out.success
    assert out.output[:4] == P.ERROR_SELECTOR
    assert match in out.reason, out.reason
    if gas is not None:
        assert out.gas_used == gas
    return out


def malformed_variants(tbs: bytes) -> dict[str, bytes]:
    """Broken encodings of a TBSCertificate (a SEQUENCE with a two-byte long-form length)."""
    assert tbs[0] == 0x30 and tbs[1] == 0x82
    return {
        "truncated": tbs[:-1],
        "trailing bytes": tbs + b"\x00",
        "wrong outer tag": b"\x31" + tbs[1:],
        "indefinite length": b"\x30\x80" + tbs[4:] + b"\x00\x00",
        "huge length": b"\x30\x84\xff\xff\xff\xff" + tbs[4:],
        "length too many octets": b"\x30\x89" + b"\x01" * 9 + tbs[4:],
        "non-minimal length": b"\x30\x83\x00" + tbs[2:],
        "empty": b"",
        "inner truncated": tbs[:4] + b"\x02\x7f" + tbs[6:],
        "serial wrong tag": tbs[:4] + tbs[4:9] + b"\x04" + tbs[10:] if tbs[4] == 0xA0 else tbs,
    }


@pytest.mark.parametrize("variant", ["truncated", "trailing bytes", "wrong outer tag", "indefinite length",
                                     "huge length", "length too many octets", "non-minimal length", "empty",
                                     "inner truncated", "serial wrong tag"])
def test_malformed_tbs_fails_with_a_reason_and_the_scheduled_gas(rsa_tbs, sample, variant):
    bad = malformed_variants(rsa_tbs)[variant]
    data = calldata("parseTbsCertificate", bad)
    fails(data, "malformed DER", gas=P.SCHEDULE["parseTbsCertificate"].of(len(data)))
    # the precompile keeps working afterwards
    assert parse(sample["tbs"])[1] == b"sample"


def test_malformed_certificate_and_keys_fail(sample):
    data = calldata("splitCertificate", sample["der"] + b"\x00")
    fails(data, "trailing bytes", gas=P.SCHEDULE["splitCertificate"].of(len(data)))
    fails(calldata("splitCertificate", sample["der"][:-3]), "malformed DER")
    base = P.SCHEDULE["verifySignature"]
    data = calldata("verifySignature", sample["spki"][:-1], sample["algorithm"], sample["tbs"], sample["signature"])
    fails(data, "malformed DER", gas=base.of(len(data)))
    data = calldata("verifySignature", sample["spki"], b"\x30\x03\x06\x01\x2a", sample["tbs"], sample["signature"])
    fails(data, "unsupported algorithm: OID 1.2", gas=base.of(len(data)))
    rsa_alg = bytes.fromhex("300d06092a864886f70d01010b0500")
    fails(calldata("verifySignature", sample["spki"], rsa_alg, sample["tbs"], sample["signature"]),
          "key/algorithm mismatch")
    small = rsa.generate_private_key(65537, 1024).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fails(calldata("verifySignature", small, rsa_alg, b"x", b"y"), "RSA modulus of 1024 bits")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fails(calldata("verifySignature", p384, sample["algorithm"], b"x", b"y"), "unsupported curve secp384r1")
    # a garbled (not DER) ECDSA signature is a wrong signature, not an error
    out = verify(sample["spki"], sample["algorithm"], sample["tbs"], b"\x01\x02")
    assert out.success and decode(["bool"], out.output) == (False,)


def test_bad_calls_fail_with_a_reason():
    fails(b"", "shorter than a selector", gas=P.INVALID_CALL_GAS)
    fails(b"\xde\xad\xbe\xef", "unknown selector 0xdeadbeef", gas=P.INVALID_CALL_GAS)
    data = P.SELECTORS["parseTbsCertificate"] + b"\x00" * 31
    fails(data, "arguments are not valid ABI", gas=P.SCHEDULE["parseTbsCertificate"].of(len(data)))


def test_nesting_and_times_are_checked():
    deep = b"\x05\x00"
    for _ in range(40):
        deep = bytes([0x30, len(deep)]) + deep if len(deep) < 128 else bytes([0x30, 0x81, len(deep)]) + deep
    fails(calldata("parseTbsCertificate", deep), "nesting deeper than 32")
    with pytest.raises(P.MalformedDer, match="not a valid date"):
        P.time_ms(P.parse_der(b"\x17\x0d" + b"240230000000Z", "t"), "notBefore")
    with pytest.raises(P.MalformedDer, match="YYMMDDHHMMSSZ"):
        P.time_ms(P.parse_der(b"\x17\x0b" + b"2402010000Z", "t"), "notBefore")
    assert P.time_ms(P.parse_der(b"\x17\x0d" + b"491231235959Z", "t"), "t") == 2524607999000
    assert P.time_ms(P.parse_der(b"\x18\x0f" + b"99991231235959Z", "t"), "t") == 253402300799000
    with pytest.raises(P.PrecompileError, match="before 1970"):
        P.time_ms(P.parse_der(b"\x17\x0d" + b"691231235959Z", "t"), "t")
    with pytest.raises(P.PrecompileError, match="before 1970"):
        P.time_ms(P.parse_der(b"\x18\x0f" + b"00000101000000Z", "t"), "t")
    with pytest.raises(P.MalformedDer, match="not a valid date"):
        P.time_ms(P.parse_der(b"\x18\x0f" + b"21000229000000Z", "t"), "t")     # 2100 is no leap year
    assert P.time_ms(P.parse_der(b"\x18\x0f" + b"20000229000000Z", "t"), "t") == 951782400000


def test_too_little_gas_is_out_of_gas():
    data = calldata("blake2b256", b"abc")
    out = run_precompile(data, gas=50)
    assert not out.success and out.output == b"" and out.gas_used == 50


def test_the_output_is_deterministic(made_by_cryptography):
    tbs, algorithm, signature = P.split_certificate(made_by_cryptography.leaf)
    data = calldata("verifySignature", spki_of(made_by_cryptography.root_cert), algorithm, tbs, signature)
    runs = {(o.success, o.output, o.gas_used) for o in (run_precompile(data) for _ in range(3))}
    assert len(runs) == 1


def test_the_address_is_a_precompile_of_the_domain_vm_only():
    from eth.vm.forks.prague.computation import PragueComputation

    assert ADDRESS not in PragueComputation.get_precompiles()   # py-evm itself is untouched
    domain = domain_vm_class(PragueVM).get_state_class().computation_class
    assert domain.get_precompiles()[ADDRESS] is P.x509_precompile
    assert all(a in domain.get_precompiles() for a in PragueComputation.get_precompiles())
    # EIP-2929: warm from the start of every transaction, as the fork's own precompiles
    vm_class = domain_vm_class(PragueVM)
    header = vm_class.create_genesis_header(difficulty=0, gas_limit=30_000_000, timestamp=0,
                                            base_fee_per_gas=0, parent_beacon_block_root=constants.ZERO_HASH32)
    state = vm_class.get_state_class()(AtomicDB(), vm_class.create_execution_context(header, (), ChainContext(1)),
                                       constants.BLANK_ROOT_HASH)
    assert state.is_address_warm(ADDRESS) and not state.is_address_warm(b"\x08\x02".rjust(20, b"\x00"))


# -- from a contract, in a block ----------------------------------------------------------------

CALLER = """
# pragma version ^0.4.0
X509: constant(address) = 0x0000000000000000000000000000000000000801

last_valid: public(bool)
last_id: public(bytes32)

@external
def check(spki: Bytes[2048], alg: Bytes[64], data: Bytes[4096], sig: Bytes[1024]) -> bool:
    res: Bytes[32] = raw_call(
        X509,
        abi_encode(spki, alg, data, sig, method_id=method_id("verifySignature(bytes,bytes,bytes,bytes)")),
        max_outsize=32, is_static_call=True)
    ok: bool = abi_decode(res, bool)
    self.last_valid = ok
    return ok

@external
def root_id(cn: Bytes[256]) -> bytes32:
    res: Bytes[32] = raw_call(X509, abi_encode(cn, method_id=method_id("blake2b256(bytes)")),
                              max_outsize=32, is_static_call=True)
    self.last_id = abi_decode(res, bytes32)
    return self.last_id

@external
def parse_or_bubble(tbs: Bytes[4096]) -> uint256:
    ok: bool = False
    res: Bytes[4096] = b""
    ok, res = raw_call(X509, abi_encode(tbs, method_id=method_id("parseTbsCertificate(bytes)")),
                       max_outsize=4096, is_static_call=True, revert_on_failure=False)
    if not ok:
        raw_revert(res)
    serial: uint256 = 0
    cn: Bytes[256] = b""
    spki: Bytes[1024] = b""
    nb: uint64 = 0
    na: uint64 = 0
    icn: Bytes[256] = b""
    serial, cn, spki, nb, na, icn = abi_decode(res, (uint256, Bytes[256], Bytes[1024], uint64, uint64, Bytes[256]))
    return serial
"""


def selector_call(signature: str, types: list[str], *args) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, list(args))


def test_called_by_a_contract_with_staticcall_in_a_block(tmp_path):
    made_by_openssl = openssl_chain("p256", tmp_path)
    chain = DomainChain.create(tmp_path / "d", dev_genesis(timestamp=1_700_000_000, predeploys=False))
    try:
        node = DomainNode(chain)
        address, key = dev_accounts()[3]
        _, bytecode = vyper(CALLER)

        def send(data: bytes, to: bytes | None = None):
            tx = {"chainId": chain.chain_id, "nonce": node.next_nonce(to_canonical_address(address)),
                  "value": 0, "gas": 3_000_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9,
                  "type": 2, "data": data}
            if to is not None:
                tx["to"] = to_checksum_address(to)
            node.submit_raw_transaction(Account.sign_transaction(tx, key).raw_transaction)

        send(bytes.fromhex(bytecode[2:]))
        built = node.produce_block(timestamp=chain.head().timestamp + 1)
        assert built.receipts[0].state_root == b"\x01"
        from eth._utils.address import generate_contract_address
        contract = generate_contract_address(to_canonical_address(address), 0)

        root = made_by_openssl.root_cert
        tbs, algorithm, signature = P.split_certificate(made_by_openssl.leaf)
        types = ["bytes", "bytes", "bytes", "bytes"]
        check = "check(bytes,bytes,bytes,bytes)"
        send(selector_call(check, types, spki_of(root), algorithm, tbs, signature), contract)
        send(selector_call("root_id(bytes)", ["bytes"], b"openssl root p256"), contract)
        built = node.produce_block(timestamp=chain.head().timestamp + 1)
        assert [r.state_root for r in built.receipts] == [b"\x01", b"\x01"], built.dropped
        head = chain.head()
        state = chain.state_at(head)
        assert state.get_storage(contract, 0) == 1                      # last_valid
        assert state.get_storage(contract, 1) == int.from_bytes(
            hashlib.blake2b(b"openssl root p256", digest_size=32).digest(), "big")

        def eth_call(data: bytes):
            return call(chain, CallRequest.from_json({"to": "0x" + contract.hex(), "input": "0x" + data.hex()}), head)

        bad_sig = bytearray(signature)
        bad_sig[10] ^= 1
        result = eth_call(selector_call(check, types, spki_of(root), algorithm, tbs, bytes(bad_sig)))
        assert result.error is None and decode(["bool"], result.output) == (False,)
        ok = eth_call(selector_call("parse_or_bubble(bytes)", ["bytes"], tbs))
        assert ok.error is None and decode(["uint256"], ok.output) == (256,)
        reverted = eth_call(selector_call("parse_or_bubble(bytes)", ["bytes"], tbs + b"\x00"))
        assert reverted.error == "execution reverted"
        assert "malformed DER" in decode_revert_reason(reverted.revert)
        # the tracers see the failed precompile frame with its reason
        from eth.vm.spoof import SpoofTransaction

        from domains.evm.tracing import trace_call
        vm = chain.pending_vm()
        unsigned = vm.create_unsigned_transaction(
            nonce=0, gas_price=0, gas=1_000_000, to=contract, value=0,
            data=selector_call("parse_or_bubble(bytes)", ["bytes"], tbs + b"\x00"))
        frame = trace_call(vm, SpoofTransaction(unsigned, from_=b"\x22" * 20), "callTracer")
        assert frame["error"] == "execution reverted"
        inner = frame["calls"][0]
        assert inner["to"] == "0x" + ADDRESS.hex() and inner["type"] == "STATICCALL"
        assert inner["error"] == "execution reverted"
        assert "malformed DER" in decode_revert_reason(bytes.fromhex(inner["output"][2:]))
        # the node keeps building blocks after the failed calls
        send(selector_call(check, types, spki_of(root), algorithm, tbs, signature), contract)
        assert node.produce_block(timestamp=chain.head().timestamp + 1).receipts[0].state_root == b"\x01"
    finally:
        chain.close()


def test_mutated_certificates_never_escape_as_exceptions(rsa_tbs, sample):
    """Seeded random corruptions: every call ends as success or a failure with a reason, never
    an internal error (an unexpected Python exception caught at the boundary)."""
    import random

    rng = random.Random(5)
    inputs = [sample["der"], rsa_tbs]
    for i in range(300):
        raw = bytearray(rng.choice(inputs))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw))
            action = rng.randrange(3)
            if action == 0:
                raw[at] = rng.randrange(256)
            elif action == 1:
                del raw[at:at + rng.randint(1, 8)]
            else:
                raw[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        name = "splitCertificate" if i % 2 else "parseTbsCertificate"
        out = run_precompile(calldata(name, bytes(raw)))
        if not out.success:
            assert out.reason and "internal error" not in out.reason, (name, bytes(raw).hex(), out.reason)
        spki_raw = bytearray(sample["spki"])
        spki_raw[rng.randrange(len(spki_raw))] ^= 1 << rng.randrange(8)
        out = verify(bytes(spki_raw), sample["algorithm"], sample["tbs"], sample["signature"])
        if not out.success:
            assert out.reason and "internal error" not in out.reason, (bytes(spki_raw).hex(), out.reason)
