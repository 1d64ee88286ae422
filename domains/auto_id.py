"""Auto ID off-chain: keys, certificates, identifiers, signed actions, and `autonomys auto-id`.

The contract (contracts/AutoId.vy, predeployed at `AUTO_ID_ADDRESS`) keeps the live pallet's
data model and rules (spec/domains.md §5.1); this module is the live Auto ID SDK's part
(§5.2): it makes keys and X.509 certificates (RSA-2048 with sha256WithRSAEncryption, ECDSA
P-256 and secp256k1 with ecdsa-with-SHA256, Ed25519), splits a certificate into TBS DER +
DER AlgorithmIdentifier + signature for `register`, derives identifiers, and signs the
nonce-bound actions (`action_message`, the contract docstring's format).

`autonomys auto-id` (`add_auto_id_parser`) has the subcommands `new`, `issue`, `register`,
`show`, `revoke`, `deactivate`, `renew` and `link-address`; those that act on chain talk to a
domain's JSON-RPC with web3.py and print the identifier, the transaction hash and any revert
reason in plain words. `measure_gas()` gives the gas of registering a root and a leaf per key
type (for the benchmarks).
"""

from __future__ import annotations

import argparse
import datetime
import enum
import functools
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from domains.evm.precompiles import split_certificate

#: Where every EVM domain's genesis predeploys the AutoId contract.
AUTO_ID_ADDRESS = "0xA070000000000000000000000000000000000001"
CONTRACT_SOURCE = Path(__file__).resolve().parent.parent / "contracts" / "AutoId.vy"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"

KEY_TYPES = ("rsa", "p256", "secp256k1", "ed25519")
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey]

#: DER AlgorithmIdentifiers (RFC 5280 §4.1.1.2) of the signatures the precompile verifies.
SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")   # 1.2.840.113549.1.1.11, NULL
ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")        # 1.2.840.10045.4.3.2
ED25519 = bytes.fromhex("300506032b6570")                            # 1.3.101.112

#: The prefix of every signed action message (see `action_message`).
ACTION_TAG = b"AutoId/v1"


class ActionType(enum.IntEnum):
    """`CertificateActionType` of the live pallet, then the two EVM-only actions."""

    REVOKE_CERTIFICATE = 0
    DEACTIVATE_AUTO_ID = 1
    LINK_ADDRESS = 2
    UNLINK_ADDRESS = 3


#: `AutoId.status(id)` codes.
STATUS_NAMES = ("active", "not registered", "deactivated", "revoked", "expired", "not yet valid",
                "inactive issuer (an issuer above it is deactivated, revoked or expired)")


class AutoIdError(Exception):
    """A command could not do what was asked; the message says why in plain words."""


# -- keys and certificates ----------------------------------------------------------------------

def generate_key(key_type: str) -> PrivateKey:
    """A new private key: "rsa" (2048 bits, e = 65537), "p256", "secp256k1" or "ed25519"."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise AutoIdError(f"unknown key type {key_type!r}: choose one of {', '.join(KEY_TYPES)}")


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """"rsa", "p256", "secp256k1" or "ed25519"."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        names = {"secp256r1": "p256", "secp256k1": "secp256k1"}
        if key.curve.name in names:
            return names[key.curve.name]
        raise AutoIdError(f"unsupported curve {key.curve.name}: P-256 and secp256k1 are supported")
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    raise AutoIdError(f"unsupported key {type(key).__name__}")


def signature_algorithm_of(key: PrivateKey | PublicKey) -> bytes:
    """The DER AlgorithmIdentifier a key of this type signs with."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return SHA256_WITH_RSA
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return ECDSA_WITH_SHA256
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return ED25519
    raise AutoIdError(f"unsupported key {type(key).__name__}")


def _certificate_hash(key: PrivateKey):
    """The hash argument `CertificateBuilder.sign` takes for this key (None for Ed25519)."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def sign(key: PrivateKey, data: bytes) -> bytes:
    """`key`'s signature over `data` in the algorithm `signature_algorithm_of(key)` names."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(not_before: datetime.datetime | None, not_after: datetime.datetime | None,
              days: float) -> tuple[datetime.datetime, datetime.datetime]:
    """The validity window: from a day ago by default (room for clock skew: a domain block
    carries its consensus block's time, which trails the wall clock, and the node's clock may
    differ from this machine's), for `days` days."""
    start = not_before or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    return start, not_after or start + datetime.timedelta(days=days + 1)


def self_signed_certificate(key: PrivateKey, common_name: str, *, serial: int | None = None,
                            not_before: datetime.datetime | None = None,
                            not_after: datetime.datetime | None = None, days: float = 365) -> x509.Certificate:
    """A root certificate: subject = issuer = CN `common_name`, signed by `key` itself."""
    start, end = _validity(not_before, not_after, days)
    return (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, _certificate_hash(key)))


def issue_certificate(issuer_key: PrivateKey, issuer_certificate: x509.Certificate, subject_key: PublicKey,
                      common_name: str, *, serial: int | None = None,
                      not_before: datetime.datetime | None = None, not_after: datetime.datetime | None = None,
                      days: float = 365) -> x509.Certificate:
    """A leaf certificate for `subject_key` with CN `common_name`, issued (signed) by the holder
    of `issuer_key` and `issuer_certificate`."""
    start, end = _validity(not_before, not_after, days)
    return (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(issuer_certificate.subject)
            .public_key(subject_key).serial_number(serial or x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(issuer_key, _certificate_hash(issuer_key)))


def make_csr(key: PrivateKey, common_name: str) -> x509.CertificateSigningRequest:
    """A certificate signing request for `key` with CN `common_name` (the SDK's createAndSignCSR)."""
    return (x509.CertificateSigningRequestBuilder().subject_name(_name(common_name))
            .sign(key, _certificate_hash(key)))


def common_name_of(name: x509.Name) -> str:
    """The first common name of an X.509 name (what the precompile reads)."""
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        raise AutoIdError(f"{name.rfc4514_string()!r} has no common name (CN)")
    return str(attributes[0].value)


@dataclass(frozen=True)
class CertificateParts:
    """What `AutoId.register` takes: the DER TBSCertificate, the DER AlgorithmIdentifier of the
    signature, and the signature bytes."""

    tbs: bytes
    signature_algorithm: bytes
    signature: bytes


def certificate_parts(certificate: x509.Certificate) -> CertificateParts:
    """Split a certificate for registration (the SDK's registerAutoId does the same)."""
    tbs, algorithm, signature = split_certificate(certificate.public_bytes(serialization.Encoding.DER))
    if tbs != certificate.tbs_certificate_bytes or signature != certificate.signature:
        raise AutoIdError("the certificate's DER does not split into its own TBS and signature")
    return CertificateParts(tbs, algorithm, signature)


# -- identifiers and actions ---------------------------------------------------------------------

def blake2b256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def auto_id_identifier(common_name: str | bytes, issuer_id: bytes | None = None) -> bytes:
    """Root: blake2b256(CN); leaf: blake2b256(issuer identifier ‖ CN) (spec §5.1)."""
    cn = common_name.encode() if isinstance(common_name, str) else common_name
    return blake2b256(cn if issuer_id is None or issuer_id == bytes(32) else issuer_id + cn)


def identifier_of(certificate: x509.Certificate, issuer_id: bytes | None = None) -> bytes:
    return auto_id_identifier(common_name_of(certificate.subject), issuer_id)


def action_message(chain_id: int, contract: str | bytes, auto_id: bytes, nonce: int, action: ActionType,
                   account: str | bytes | None = None) -> bytes:
    """The bytes a certificate key signs to authorise `action` (the contract docstring):
    "AutoId/v1" ‖ chain id (32 bytes BE) ‖ contract (20) ‖ SCALE(CertificateAction{id (32),
    nonce (U256, 32 bytes LE), action type (u8)}) ‖ account (20, link and unlink only)."""
    message = (ACTION_TAG + chain_id.to_bytes(32, "big") + _address_bytes(contract)
               + auto_id + nonce.to_bytes(32, "little") + bytes([action]))
    if action in (ActionType.LINK_ADDRESS, ActionType.UNLINK_ADDRESS):
        if account is None:
            raise AutoIdError("link and unlink actions name an account")
        message += _address_bytes(account)
    return message


def sign_action(key: PrivateKey, chain_id: int, contract: str | bytes, auto_id: bytes, nonce: int,
                action: ActionType, account: str | bytes | None = None) -> tuple[bytes, bytes]:
    """(signature algorithm, signature) of `key` over `action_message(...)`."""
    return signature_algorithm_of(key), sign(key, action_message(chain_id, contract, auto_id, nonce, action, account))


def _address_bytes(address: str | bytes) -> bytes:
    if isinstance(address, bytes):
        if len(address) != 20:
            raise AutoIdError(f"an address is 20 bytes, not {len(address)}")
        return address
    raw = bytes.fromhex(address.removeprefix("0x"))
    if len(raw) != 20:
        raise AutoIdError(f"{address!r} is not a 20-byte address")
    return raw


# -- files ---------------------------------------------------------------------------------------

def write_private_key(key: PrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def write_certificate(certificate: x509.Certificate, path: Path) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def load_private_key(path: str | Path) -> PrivateKey:
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        try:
            key = serialization.load_der_private_key(data, password=None)
        except ValueError as exc:
            raise AutoIdError(f"{path}: not an unencrypted PEM or DER private key ({exc})") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise AutoIdError(f"{path}: unsupported key type {type(key).__name__}")
    return key


def load_certificate(path: str | Path) -> x509.Certificate:
    data = Path(path).read_bytes()
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise AutoIdError(f"{path}: not a PEM or DER certificate ({exc})") from None


def load_public_key(path: str | Path) -> tuple[PublicKey, str | None]:
    """A subject's public key from a PEM/DER public key, a CSR (its signature checked; its CN
    returned too), a certificate or a private key file."""
    data = Path(path).read_bytes()
    loaders = [
        lambda: (_checked_csr(x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data))),
        lambda: (serialization.load_pem_public_key(data) if b"-----BEGIN" in data
                 else serialization.load_der_public_key(data), None),
        lambda: (load_certificate(path).public_key(), None),
        lambda: (load_private_key(path).public_key(), None),
    ]
    for load in loaders:
        try:
            return load()
        except (ValueError, AutoIdError):
            continue
    raise AutoIdError(f"{path}: not a public key, CSR, certificate or private key")


def _checked_csr(csr: x509.CertificateSigningRequest) -> tuple[PublicKey, str]:
    if not csr.is_signature_valid:
        raise AutoIdError("the CSR's signature is not valid")
    return csr.public_key(), common_name_of(csr.subject)


def load_identifier(text: str) -> bytes:
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 32:
        raise AutoIdError(f"an Auto ID identifier is 32 bytes (64 hex digits), not {len(raw)}")
    return raw


# -- the contract's ABI ---------------------------------------------------------------------------

def auto_id_artifact():
    """The compiled AutoId contract (ABI, init code, runtime), through the predeploys' artifact
    cache (compiled once per source version)."""
    from domains.evm.predeploys import compile_contract

    return compile_contract(CONTRACT_SOURCE, "AutoId")


def auto_id_abi() -> list:
    return auto_id_artifact().abi


def auto_id_bytecode() -> bytes:
    """The AutoId contract's creation code (it has no constructor arguments)."""
    return auto_id_artifact().bytecode


def decode_revert(data: bytes) -> str:
    """A revert's output in plain words: the Error(string) reason, a Panic code, or hex."""
    from eth_abi import decode

    if data[:4] == bytes.fromhex("08c379a0"):
        try:
            return decode(["string"], data[4:])[0]
        except Exception:
            pass
    if data[:4] == bytes.fromhex("4e487b71") and len(data) == 36:
        return f"panic 0x{int.from_bytes(data[4:], 'big'):02x}"
    return "reverted without a reason" if not data else f"reverted with data 0x{data.hex()}"


# -- talking to a domain -------------------------------------------------------------------------

@dataclass
class TxOutcome:
    """What an action did: the transaction hash (None when the simulation rejected it and
    nothing was sent), success, the revert reason in plain words, the gas used and the receipt
    (None until mined)."""

    tx_hash: str | None
    ok: bool
    reason: str | None = None
    gas_used: int | None = None
    receipt: object | None = None
    #: the transaction sent (to replay it when it fails)
    tx: dict | None = None

    def wait(self, client: "AutoIdClient") -> "TxOutcome":
        """The outcome once mined, for one sent with wait=False."""
        return client.outcome(self.tx_hash, self.tx) if self.tx_hash and self.receipt is None else self


#: The gas limit of a transaction sent without a simulation (an estimate) first.
UNSIMULATED_GAS = 3_000_000


class AutoIdClient:
    """The AutoId contract on a domain, through web3.py, sending as `sender_key`."""

    def __init__(self, rpc_url: str = DEFAULT_RPC_URL, sender_key: str | bytes | None = None,
                 address: str = AUTO_ID_ADDRESS, timeout: float = 60.0) -> None:
        from eth_account import Account
        from web3 import Web3

        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.timeout = timeout
        self.account = Account.from_key(sender_key) if sender_key is not None else None
        self.address = Web3.to_checksum_address(address)
        self.contract = self.w3.eth.contract(address=self.address, abi=auto_id_abi())

    @functools.cached_property
    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    # -- sending -------------------------------------------------------------------------------

    def send(self, function, *, wait: bool = True, simulate: bool = True) -> TxOutcome:
        """Simulate `function` first (a rejection is reported with its reason, nothing sent),
        then send it signed by the sender and (unless `wait` is False) wait for the receipt.
        Without `simulate` it is sent as it is, with `UNSIMULATED_GAS`."""
        from web3.exceptions import ContractLogicError

        if self.account is None:
            raise AutoIdError("no sender key: pass --from-key or --dev-account")
        gas = UNSIMULATED_GAS
        if simulate:
            try:
                estimate = function.estimate_gas({"from": self.account.address})
            except ContractLogicError as exc:
                return TxOutcome(tx_hash=None, ok=False, reason=_logic_error_reason(exc))
            gas = estimate + estimate // 5 + 10_000
        tx = function.build_transaction({
            "from": self.account.address, "gas": gas,
            "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "chainId": self.chain_id})
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        if not wait:
            return TxOutcome(tx_hash="0x" + bytes(tx_hash).hex(), ok=True, tx=tx)
        return self.outcome(tx_hash, tx)

    def outcome(self, tx_hash, tx: dict | None = None) -> TxOutcome:
        """Wait for the receipt of `tx_hash`; for a failed transaction `tx`, learn the revert
        reason by replaying it, first on the state before its block, then (when it failed only
        because of an earlier transaction in the same block) on the state after it."""
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout)
        hex_hash = "0x" + bytes(receipt.transactionHash).hex()
        if receipt.status == 1:
            return TxOutcome(hex_hash, True, gas_used=receipt.gasUsed, receipt=receipt)
        reason = "reverted (the reason could not be recovered by replaying it)"
        if tx is not None:
            replay = {k: tx[k] for k in ("from", "to", "data", "gas")}
            for block in (receipt.blockNumber - 1, receipt.blockNumber):
                try:
                    self.w3.eth.call(replay, block)
                except Exception as exc:  # noqa: BLE001 - web3 raises several types for a revert
                    reason = _logic_error_reason(exc)
                    break
        return TxOutcome(hex_hash, False, reason=reason, gas_used=receipt.gasUsed, receipt=receipt)

    # -- actions -------------------------------------------------------------------------------

    def register(self, certificate: x509.Certificate, issuer_id: bytes | None = None, **kw) -> TxOutcome:
        parts = certificate_parts(certificate)
        return self.send(self.contract.functions.register(issuer_id or bytes(32), parts.tbs,
                                                          parts.signature_algorithm, parts.signature), **kw)

    def renew(self, auto_id: bytes, certificate: x509.Certificate, **kw) -> TxOutcome:
        parts = certificate_parts(certificate)
        return self.send(self.contract.functions.renew(auto_id, parts.tbs, parts.signature_algorithm,
                                                       parts.signature), **kw)

    def revoke(self, auto_id: bytes, issuer_key: PrivateKey, **kw) -> TxOutcome:
        """Revoke `auto_id`, signed by its issuer's key (a root's own) at the issuer's nonce."""
        record = self.get(auto_id)
        signer = record["issuer_id"] if record["issuer_id"] != bytes(32) else auto_id
        nonce = self.contract.functions.nonceOf(signer).call()
        algorithm, signature = sign_action(issuer_key, self.chain_id, self.address, auto_id, nonce,
                                           ActionType.REVOKE_CERTIFICATE)
        return self.send(self.contract.functions.revoke(auto_id, nonce, algorithm, signature), **kw)

    def deactivate(self, auto_id: bytes, key: PrivateKey, **kw) -> TxOutcome:
        nonce = self.contract.functions.nonceOf(auto_id).call()
        algorithm, signature = sign_action(key, self.chain_id, self.address, auto_id, nonce,
                                           ActionType.DEACTIVATE_AUTO_ID)
        return self.send(self.contract.functions.deactivate(auto_id, nonce, algorithm, signature), **kw)

    def link_address(self, auto_id: bytes, key: PrivateKey, account: str, **kw) -> TxOutcome:
        nonce = self.contract.functions.nonceOf(auto_id).call()
        algorithm, signature = sign_action(key, self.chain_id, self.address, auto_id, nonce,
                                           ActionType.LINK_ADDRESS, account)
        return self.send(self.contract.functions.linkAddress(auto_id, self.w3.to_checksum_address(account),
                                                             nonce, algorithm, signature), **kw)

    # -- views ---------------------------------------------------------------------------------

    def get(self, auto_id: bytes) -> dict:
        fields = self.contract.functions.getAutoId(auto_id).call()
        names = ("issuer_id", "serial", "subject_common_name", "subject_public_key_info", "not_before_ms",
                 "not_after_ms", "nonce", "tbs_hash", "depth", "generation")
        return dict(zip(names, fields))

    def show(self, auto_id: bytes) -> dict:
        """Everything the contract holds about `auto_id`, in plain form."""
        record = self.get(auto_id)
        status = self.contract.functions.status(auto_id).call()
        return {
            "id": "0x" + auto_id.hex(),
            "status": STATUS_NAMES[status] if status < len(STATUS_NAMES) else str(status),
            "active": status == 0,
            "registered": record["generation"] > 0,
            "issuer_id": None if record["issuer_id"] == bytes(32) else "0x" + record["issuer_id"].hex(),
            "common_name": record["subject_common_name"].decode("utf-8", "replace"),
            "serial": hex(record["serial"]),
            "not_before": _iso_ms(record["not_before_ms"]),
            "not_after": _iso_ms(record["not_after_ms"]),
            "nonce": record["nonce"],
            "depth": record["depth"],
            "generation": record["generation"],
            "subject_public_key_info": "0x" + record["subject_public_key_info"].hex(),
            "tbs_hash": "0x" + record["tbs_hash"].hex(),
        }


def _iso_ms(ms: int) -> str | None:
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()


def _logic_error_reason(exc: Exception) -> str:
    """The revert reason carried by a web3 exception, in plain words."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return decode_revert(bytes.fromhex(data[2:]))
        except ValueError:
            pass
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(message, tuple):
        message = message[0]
    return str(message).removeprefix("execution reverted: ")


# -- the command ---------------------------------------------------------------------------------

def add_auto_id_parser(subparsers) -> argparse.ArgumentParser:
    """Add `auto-id` and its subcommands to an argparse subparsers object; each subcommand
    sets `func` (called with the parsed namespace; returns the exit code)."""
    parser = subparsers.add_parser(
        "auto-id", help="Auto ID: make keys and X.509 certificates, register and manage them on a domain",
        description="Auto ID (spec domains.md §5.1): X.509 identities registered in the AutoId contract "
                    f"({AUTO_ID_ADDRESS}).")
    commands = parser.add_subparsers(dest="auto_id_command", metavar="COMMAND", required=True)

    new = commands.add_parser("new", help="make a key and a self-signed (root) certificate")
    new.add_argument("common_name", help="the certificate's subject common name (CN)")
    new.add_argument("--key-type", choices=KEY_TYPES, default="rsa", help="key type (default: rsa, 2048 bits)")
    new.add_argument("--key", help="use this private key (PEM) instead of making one: a new certificate for a "
                                   "registered key, as `renew` needs")
    new.add_argument("--out", default=".", help="directory for <name>.key.pem and <name>.cert.pem (default: .)")
    new.add_argument("--name", help="file name stem (default: the common name)")
    new.add_argument("--days", type=float, default=365, help="validity in days (default: 365)")
    new.add_argument("--serial", type=lambda s: int(s, 0), help="serial number (default: random)")
    new.set_defaults(func=_guarded(cmd_new))

    issue = commands.add_parser("issue", help="issue a leaf certificate for another key or a CSR")
    issue.add_argument("subject", help="the subject's public key, CSR, certificate or private key file")
    issue.add_argument("--issuer-key", required=True, help="the issuer's private key (PEM)")
    issue.add_argument("--issuer-cert", required=True, help="the issuer's certificate (PEM)")
    issue.add_argument("--common-name", help="the subject CN (default: the CSR's)")
    issue.add_argument("--out", required=True, help="where to write the certificate (PEM)")
    issue.add_argument("--days", type=float, default=365, help="validity in days (default: 365)")
    issue.add_argument("--serial", type=lambda s: int(s, 0), help="serial number (default: random)")
    issue.set_defaults(func=_guarded(cmd_issue))

    def on_chain(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--rpc-url", default=DEFAULT_RPC_URL, help=f"domain JSON-RPC (default: {DEFAULT_RPC_URL})")
        sub.add_argument("--contract", default=AUTO_ID_ADDRESS, help=f"AutoId address (default: {AUTO_ID_ADDRESS})")
        sender = sub.add_mutually_exclusive_group()
        sender.add_argument("--from-key", help="hex private key of the EVM account paying for the transaction")
        sender.add_argument("--dev-account", type=int, default=0,
                            help="index of a dev account to pay (default: 0; the dev network's funded accounts)")
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
        return sub

    register = on_chain("register", "register a certificate (root, or leaf with --issuer-id)")
    register.add_argument("certificate", help="the certificate (PEM or DER)")
    register.add_argument("--issuer-id", help="the issuer's Auto ID (omit for a self-signed root)")
    register.set_defaults(func=_guarded(cmd_register))

    show = on_chain("show", "show an Auto ID")
    show.add_argument("id", help="the Auto ID identifier (0x + 64 hex digits)")
    show.set_defaults(func=_guarded(cmd_show))

    revoke = on_chain("revoke", "revoke a certificate, signed by its issuer's key")
    revoke.add_argument("id", help="the Auto ID to revoke")
    revoke.add_argument("--issuer-key", required=True, help="the issuer's private key (a root's own key)")
    revoke.set_defaults(func=_guarded(cmd_revoke))

    deactivate = on_chain("deactivate", "deactivate an Auto ID, signed by its own key")
    deactivate.add_argument("id", help="the Auto ID to deactivate")
    deactivate.add_argument("--key", required=True, help="the Auto ID's private key")
    deactivate.set_defaults(func=_guarded(cmd_deactivate))

    renew = on_chain("renew", "replace an Auto ID's certificate (same key and common name)")
    renew.add_argument("id", help="the Auto ID to renew")
    renew.add_argument("certificate", help="the new certificate (PEM or DER)")
    renew.set_defaults(func=_guarded(cmd_renew))

    link = on_chain("link-address", "link an EVM account to an Auto ID as its controller")
    link.add_argument("id", help="the Auto ID")
    link.add_argument("account", help="the EVM address to link (0x…)")
    link.add_argument("--key", required=True, help="the Auto ID's private key")
    link.set_defaults(func=_guarded(cmd_link_address))
    return parser


def _client(args) -> AutoIdClient:
    if args.from_key:
        key = args.from_key
    else:
        from domains.evm.genesis import dev_accounts

        accounts = dev_accounts()
        if not 0 <= args.dev_account < len(accounts):
            raise AutoIdError(f"--dev-account must be 0..{len(accounts) - 1}")
        key = accounts[args.dev_account][1]
    return AutoIdClient(args.rpc_url, key, args.contract)


def _report(args, auto_id: bytes | None, outcome: TxOutcome, **extra) -> int:
    result = {"id": "0x" + auto_id.hex() if auto_id else None, "transaction": outcome.tx_hash,
              "ok": outcome.ok, "revert_reason": outcome.reason, "gas_used": outcome.gas_used, **extra}
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        if auto_id:
            print(f"auto id:     0x{auto_id.hex()}")
        print(f"transaction: {outcome.tx_hash or '(not sent)'}")
        for key, value in extra.items():
            print(f"{key + ':':<13}{value}")
        if outcome.ok:
            print(f"status:      ok (gas used {outcome.gas_used})")
        else:
            print(f"status:      rejected: {outcome.reason}")
    return 0 if outcome.ok else 1


def cmd_new(args) -> int:
    key = load_private_key(args.key) if args.key else generate_key(args.key_type)
    certificate = self_signed_certificate(key, args.common_name, serial=args.serial, days=args.days)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or args.common_name
    key_path, cert_path = out / f"{stem}.key.pem", out / f"{stem}.cert.pem"
    if args.key:
        key_path = Path(args.key)
    else:
        write_private_key(key, key_path)
    write_certificate(certificate, cert_path)
    print(f"auto id:     0x{identifier_of(certificate).hex()} (as a root)")
    print(f"key:         {key_path} ({key_type_of(key)})")
    print(f"certificate: {cert_path} (serial {hex(certificate.serial_number)})")
    return 0


def cmd_issue(args) -> int:
    issuer_key = load_private_key(args.issuer_key)
    issuer_certificate = load_certificate(args.issuer_cert)
    subject_key, csr_name = load_public_key(args.subject)
    common_name = args.common_name or csr_name
    if not common_name:
        raise AutoIdError("--common-name is needed unless the subject is a CSR")
    certificate = issue_certificate(issuer_key, issuer_certificate, subject_key, common_name,
                                    serial=args.serial, days=args.days)
    write_certificate(certificate, Path(args.out))
    print(f"certificate: {args.out} (CN {common_name}, serial {hex(certificate.serial_number)}, "
          f"issuer {common_name_of(issuer_certificate.subject)})")
    return 0


def cmd_register(args) -> int:
    certificate = load_certificate(args.certificate)
    issuer_id = load_identifier(args.issuer_id) if args.issuer_id else None
    auto_id = identifier_of(certificate, issuer_id)
    return _report(args, auto_id, _client(args).register(certificate, issuer_id))


def cmd_show(args) -> int:
    info = _client(args).show(load_identifier(args.id))
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key + ':':<25}{value}")
    return 0 if info["registered"] else 1


def cmd_revoke(args) -> int:
    auto_id = load_identifier(args.id)
    return _report(args, auto_id, _client(args).revoke(auto_id, load_private_key(args.issuer_key)))


def cmd_deactivate(args) -> int:
    auto_id = load_identifier(args.id)
    return _report(args, auto_id, _client(args).deactivate(auto_id, load_private_key(args.key)))


def cmd_renew(args) -> int:
    auto_id = load_identifier(args.id)
    certificate = load_certificate(args.certificate)
    return _report(args, auto_id, _client(args).renew(auto_id, certificate),
                   serial=hex(certificate.serial_number))


def cmd_link_address(args) -> int:
    auto_id = load_identifier(args.id)
    return _report(args, auto_id, _client(args).link_address(auto_id, load_private_key(args.key), args.account),
                   account=args.account)


def _guarded(command):
    """`command` with expected failures (bad files, bad input, an unreachable RPC) turned into
    one line on stderr and exit code 2, so `autonomys` can call `args.func(args)` directly."""

    @functools.wraps(command)
    def guarded(args) -> int:
        import requests

        try:
            return command(args)
        except requests.exceptions.RequestException as exc:  # before OSError: it is one
            print(f"autonomys auto-id: cannot reach the domain RPC at {getattr(args, 'rpc_url', '?')}: "
                  f"{type(exc).__name__}", file=sys.stderr)
        except (AutoIdError, OSError) as exc:
            print(f"autonomys auto-id: {exc}", file=sys.stderr)
        return 2

    return guarded


def main(argv: list[str] | None = None) -> int:
    """`autonomys auto-id …` on its own (what `domains.cli` runs once wired)."""
    parser = argparse.ArgumentParser(prog="autonomys")
    add_auto_id_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


# -- gas -----------------------------------------------------------------------------------------

def measure_gas(path: str | Path | None = None) -> dict[str, dict[str, int]]:
    """Gas used by `register` for a root and a leaf (issued by that root) per key type, on an
    in-process dev domain: {"rsa": {"root": …, "leaf": …}, "p256": …, "secp256k1": …, "ed25519": …}."""
    import tempfile
    import time

    from eth_account import Account
    from eth_utils import to_checksum_address

    from domains.evm.chain import DomainChain
    from domains.evm.genesis import dev_accounts, dev_genesis
    from domains.evm.node import DomainNode

    sender, sender_key = dev_accounts()[0]
    with tempfile.TemporaryDirectory(prefix="autoid-gas-") as tmp:
        chain = DomainChain.create(Path(path or tmp) / "domain", dev_genesis(timestamp=int(time.time()) - 60))
        node = DomainNode(chain)
        try:
            address = _ensure_auto_id(node, sender_key)
            contract = _abi_codec()
            results: dict[str, dict[str, int]] = {}
            for key_type in KEY_TYPES:
                root_key, leaf_key = generate_key(key_type), generate_key(key_type)
                root = self_signed_certificate(root_key, f"gas root {key_type}")
                leaf = issue_certificate(root_key, root, leaf_key.public_key(), f"gas leaf {key_type}")
                root_id = identifier_of(root)
                gas = {}
                for name, certificate, issuer in (("root", root, None), ("leaf", leaf, root_id)):
                    parts = certificate_parts(certificate)
                    data = contract.encode("register", [issuer or bytes(32), parts.tbs, parts.signature_algorithm,
                                                        parts.signature])
                    tx = {"chainId": chain.chain_id, "nonce": node.next_nonce(bytes.fromhex(sender[2:])),
                          "to": to_checksum_address(address), "value": 0, "gas": 3_000_000,
                          "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2, "data": data}
                    node.submit_raw_transaction(Account.sign_transaction(tx, sender_key).raw_transaction)
                    built = node.produce_block(timestamp=chain.head().timestamp + 1)
                    receipt = built.receipts[0]
                    if receipt.state_root != b"\x01":
                        raise AutoIdError(f"register {name} ({key_type}) failed")
                    gas[name] = receipt.gas_used
                results[key_type] = gas
            return results
        finally:
            chain.close()


class _abi_codec:
    """Encode calls to the AutoId contract from its ABI, without web3."""

    def __init__(self) -> None:
        self.functions = {item["name"]: item for item in auto_id_abi() if item["type"] == "function"}

    def encode(self, name: str, args: list) -> bytes:
        from eth_abi import encode
        from eth_utils import function_signature_to_4byte_selector

        types = [i["type"] for i in self.functions[name]["inputs"]]
        return function_signature_to_4byte_selector(f"{name}({','.join(types)})") + encode(types, args)


def _ensure_auto_id(node, sender_key: bytes) -> bytes:
    """The AutoId address on `node`'s chain: the predeploy when the genesis has it, otherwise a
    fresh deployment by `sender_key`."""
    from eth._utils.address import generate_contract_address
    from eth_account import Account

    predeployed = bytes.fromhex(AUTO_ID_ADDRESS[2:])
    if node.chain.state_at(node.chain.head()).get_code(predeployed):
        return predeployed
    sender = bytes.fromhex(Account.from_key(sender_key).address[2:])
    nonce = node.next_nonce(sender)
    tx = {"chainId": node.chain.chain_id, "nonce": nonce, "value": 0, "gas": 8_000_000,
          "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2, "data": auto_id_bytecode()}
    node.submit_raw_transaction(Account.sign_transaction(tx, sender_key).raw_transaction)
    built = node.produce_block(timestamp=node.chain.head().timestamp + 1)
    if built.receipts[0].state_root != b"\x01":
        raise AutoIdError("deploying AutoId failed")
    return generate_contract_address(sender, nonce)
