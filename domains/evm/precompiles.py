"""The Autonomys X.509 precompile at 0x…0801: DER certificates and signatures for Auto ID.

The live network verifies Auto ID certificates with a host function (spec domains.md §5.1);
an EVM domain gets a precompile in the Autonomys range (0x0800–0x0FFF; the transporter is
0x0800) that contracts call instead. Input = a 4-byte selector + Solidity ABI-encoded
arguments, output = the ABI-encoded return values:

- `parseTbsCertificate(bytes tbs) returns (uint256 serial, bytes subjectCommonName,
  bytes subjectPublicKeyInfo, uint64 notBeforeMs, uint64 notAfterMs, bytes issuerCommonName)`
- `verifySignature(bytes subjectPublicKeyInfo, bytes signatureAlgorithm, bytes data,
  bytes signature) returns (bool valid)`
- `splitCertificate(bytes certificateDer) returns (bytes tbs, bytes signatureAlgorithm,
  bytes signature)`
- `blake2b256(bytes data) returns (bytes32)`

Rules every function follows:
- Deterministic: no clock, no randomness, no state; the output is a function of the input
  alone (fraud proofs re-execute it, spec domains.md §4).
- Gas (`SCHEDULE`): base + per 32-byte word of the whole input, charged before anything is
  read; `verifySignature` then adds the verification cost of the key's algorithm
  (`verification_gas`) once the key and the algorithm identifier are parsed and agree.
- Malformed input fails the call: success = 0, the gas charged so far stays charged (the
  rest is returned to the caller, as after REVERT), and the output is the ABI encoding of
  `Error(string)` with a reason ("malformed DER: …", "unsupported algorithm: …"), so a
  contract can bubble it up as its revert reason. No Python exception reaches py-evm; only
  `OutOfGas`, when the caller gave less gas than the schedule asks, which burns what was
  given, as for any precompile.
- A well-formed signature check that fails returns `false`; it is not an error.

The DER reader is strict (X.690 DER as RFC 5280 requires): one-byte tags, definite lengths
in their shortest form, no bytes after an element, nesting at most `MAX_DEPTH` deep. The
TBSCertificate fields follow RFC 5280 §4.1. Public keys are loaded, and signatures checked,
by the `cryptography` package (OpenSSL), which is deterministic for verification.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from typing import Callable, NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from eth.abc import ComputationAPI
from eth.exceptions import Revert, VMError
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

#: The precompile's address: the Autonomys range 0x0800–0x0FFF, next after the transporter.
X509_PRECOMPILE_ADDRESS = (0x0801).to_bytes(20, "big")
#: Its name where precompiles are listed by name (eth_config, EIP-7910).
X509_PRECOMPILE_NAME = "AUTONOMYS_X509"

# -- gas schedule --------------------------------------------------------------------------

#: Charged when the input is shorter than a selector or the selector is unknown.
INVALID_CALL_GAS = 3_000


@dataclass(frozen=True)
class Cost:
    """A function's gas: `base` + `per_word` × ceil(len(input) / 32), input = selector + args."""

    base: int
    per_word: int

    def of(self, input_length: int) -> int:
        return self.base + self.per_word * ((input_length + 31) // 32)


#: Per function. The schedule is priced in wall time against one anchor: a P-256 verification
#: costs 6,900 gas, as EIP-7951 prices it; the rest in proportion to their time measured here
#: (benchmarks/precompile.py; `cryptography` 50 / OpenSSL 3.0). Parsing walks the whole DER
#: tree in Python (a 0.5 KB TBS: about half a P-256 verification); splitting a certificate
#: about a third; verification's own work beyond the key check is ABI and DER handling (~3,000)
#: and SHA-256 over `data` (12 per word, as the SHA-256 precompile); blake2b256 is priced as
#: the SHA-256 precompile (60 + 12 per word).
SCHEDULE = {
    "parseTbsCertificate": Cost(base=3_000, per_word=6),
    "verifySignature": Cost(base=3_000, per_word=12),
    "splitCertificate": Cost(base=2_000, per_word=3),
    "blake2b256": Cost(base=60, per_word=12),
}

#: Verification cost by key type, added to `verifySignature`'s base + words.
#: P-256: as EIP-7951 prices it (the anchor).
P256_GAS = 6_900
#: secp256k1 through OpenSSL's generic curve code: 3.6x to 4.6x a P-256 verification; 4x.
SECP256K1_GAS = 27_600
#: Ed25519 in OpenSSL 3.0: 1.2x to 2.2x a P-256 verification in repeated runs here; 1.6x.
ED25519_GAS = 11_000
#: RSA: 10,000 for a 2048-bit modulus (measured ~1/3 of a P-256 verification with e = 65537,
#: up to ~1.3x with a 64-bit exponent), growing with the square of the modulus size (the cost
#: of a modular multiplication): ceil(10,000 × bits² / 2048²); 3072: 22,500, 4096: 40,000.
RSA_GAS_PER_2048 = 10_000
RSA_MIN_BITS = 2048
RSA_MAX_BITS = 8192
#: Public exponents are limited to 64 bits: the verification work must not depend on a
#: huge exponent the gas does not price (OpenSSL limits exponents the same way for big keys).
RSA_MAX_EXPONENT_BITS = 64


def rsa_verification_gas(bits: int) -> int:
    """The verification cost of an RSA key of `bits` bits (see RSA_GAS_PER_2048)."""
    return -((-RSA_GAS_PER_2048 * bits * bits) // (2048 * 2048))


# -- errors --------------------------------------------------------------------------------


class PrecompileError(Exception):
    """The call's input is malformed or unsupported; the message is the revert reason."""


class MalformedDer(PrecompileError):
    def __init__(self, message: str) -> None:
        super().__init__(f"malformed DER: {message}")


def error_output(reason: str) -> bytes:
    """The ABI encoding of `Error(string)`: what `revert(reason)` returns in Solidity."""
    return ERROR_SELECTOR + abi_encode(["string"], [reason])


ERROR_SELECTOR = bytes.fromhex("08c379a0")

# -- the DER reader (X.690 DER, strict) ----------------------------------------------------

MAX_DEPTH = 32
#: Universal tags used here.
INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 0x02, 0x03, 0x04, 0x05, 0x06
UTF8_STRING, PRINTABLE_STRING, TELETEX_STRING, IA5_STRING = 0x0C, 0x13, 0x14, 0x16
UTC_TIME, GENERALIZED_TIME, UNIVERSAL_STRING, BMP_STRING = 0x17, 0x18, 0x1C, 0x1E
SEQUENCE, SET = 0x30, 0x31
CONSTRUCTED = 0x20


class Element(NamedTuple):
    """One DER element inside `data`: its tag, and where its header and content lie."""

    data: bytes
    tag: int
    start: int          # first byte of the tag
    content_start: int  # first byte of the content
    end: int            # one past the last content byte

    @property
    def content(self) -> bytes:
        return self.data[self.content_start:self.end]

    @property
    def encoded(self) -> bytes:
        """The whole element: tag, length and content."""
        return self.data[self.start:self.end]

    def children(self) -> list["Element"]:
        """The elements inside a constructed element, in order; they fill it exactly."""
        out, at = [], self.content_start
        while at < self.end:
            child = read_element(self.data, at, self.end)
            out.append(child)
            at = child.end
        return out


def read_element(data: bytes, at: int, limit: int) -> Element:
    """The element starting at `data[at]`, which must end by `limit` (X.690 §8.1, DER §10.1:
    definite lengths in the minimum number of octets)."""
    if at >= limit:
        raise MalformedDer(f"element expected at offset {at}, input ends")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise MalformedDer(f"multi-byte tag at offset {at} (no X.509 field uses one)")
    if at + 1 >= limit:
        raise MalformedDer(f"length missing at offset {at + 1}")
    first = data[at + 1]
    pos = at + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise MalformedDer(f"indefinite length at offset {at + 1} (DER needs definite lengths)")
    else:
        count = first & 0x7F
        if count > 4:
            raise MalformedDer(f"length of {count} octets at offset {at + 1} is too large")
        if pos + count > limit:
            raise MalformedDer(f"length octets at offset {at + 1} run past the end")
        length = int.from_bytes(data[pos:pos + count], "big")
        if data[pos] == 0 or length < 0x80:
            raise MalformedDer(f"length at offset {at + 1} is not in its shortest form")
        pos += count
    if pos + length > limit:
        raise MalformedDer(f"element at offset {at} has length {length}, only {limit - pos} bytes remain")
    return Element(data, tag, at, pos, pos + length)


def parse_der(data: bytes, what: str) -> Element:
    """`data` as exactly one well-formed DER element (the whole tree is checked), nothing after it."""
    data = bytes(data)
    if not data:
        raise MalformedDer(f"{what} is empty")
    element = read_element(data, 0, len(data))
    if element.end != len(data):
        raise MalformedDer(f"{what}: {len(data) - element.end} trailing bytes after the element")
    _check_tree(element, 1)
    return element


def _check_tree(element: Element, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise MalformedDer(f"nesting deeper than {MAX_DEPTH} levels at offset {element.start}")
    if element.tag & CONSTRUCTED:
        for child in element.children():
            _check_tree(child, depth + 1)


def expect(element: Element, tag: int, what: str) -> Element:
    if element.tag != tag:
        raise MalformedDer(f"{what}: expected tag 0x{tag:02x}, found 0x{element.tag:02x} at offset {element.start}")
    return element


def der_unsigned_integer(element: Element, what: str, max_bytes: int = 32) -> int:
    """A DER INTEGER (minimal two's complement, X.690 §8.3) that must be non-negative."""
    content = expect(element, INTEGER, what).content
    if not content:
        raise MalformedDer(f"{what}: empty INTEGER")
    if len(content) > 1 and ((content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)):
        raise MalformedDer(f"{what}: INTEGER not in its shortest form")
    if content[0] & 0x80:
        raise PrecompileError(f"{what} is negative")
    value = int.from_bytes(content, "big")
    if value.bit_length() > 8 * max_bytes:
        raise PrecompileError(f"{what} is longer than {max_bytes} bytes")
    return value


# -- RFC 5280 ------------------------------------------------------------------------------

OID_COMMON_NAME = bytes.fromhex("550403")                 # 2.5.4.3
OID_SHA256_WITH_RSA = bytes.fromhex("2a864886f70d01010b")  # 1.2.840.113549.1.1.11
OID_ECDSA_WITH_SHA256 = bytes.fromhex("2a8648ce3d040302")  # 1.2.840.10045.4.3.2
OID_ED25519 = bytes.fromhex("2b6570")                      # 1.3.101.112


@dataclass(frozen=True)
class TbsFields:
    """What `parseTbsCertificate` returns."""

    serial: int
    subject_common_name: bytes
    subject_public_key_info: bytes
    not_before_ms: int
    not_after_ms: int
    issuer_common_name: bytes


def parse_tbs_certificate(tbs: bytes) -> TbsFields:
    """The fields of a DER TBSCertificate (RFC 5280 §4.1):

        TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber INTEGER,
            signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
            subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID [2] OPTIONAL,
            extensions [3] EXPLICIT OPTIONAL }
    """
    root = expect(parse_der(tbs, "TBSCertificate"), SEQUENCE, "TBSCertificate")
    fields = root.children()
    i = 0
    if fields and fields[0].tag == 0xA0:                       # version [0] EXPLICIT INTEGER
        inner = fields[0].children()
        if len(inner) != 1 or der_unsigned_integer(inner[0], "version") > 2:
            raise MalformedDer("version must be v1, v2 or v3")
        i = 1
    if len(fields) < i + 6:
        raise MalformedDer(f"TBSCertificate has {len(fields)} fields, at least 6 are required")
    serial = der_unsigned_integer(fields[i], "serialNumber")  # RFC 5280 §4.1.2.2: at most 20 octets
    expect(fields[i + 1], SEQUENCE, "signature AlgorithmIdentifier")
    issuer = expect(fields[i + 2], SEQUENCE, "issuer Name")
    validity = expect(fields[i + 3], SEQUENCE, "validity").children()
    subject = expect(fields[i + 4], SEQUENCE, "subject Name")
    spki = expect(fields[i + 5], SEQUENCE, "subjectPublicKeyInfo")
    if len(validity) != 2:
        raise MalformedDer("validity must hold notBefore and notAfter")
    optional_tags = [0x81, 0x82, 0xA3]                            # in this order, each at most once
    for extra in fields[i + 6:]:
        while optional_tags and optional_tags[0] != extra.tag:
            optional_tags.pop(0)
        if not optional_tags:
            raise MalformedDer(f"unexpected field with tag 0x{extra.tag:02x} at offset {extra.start}")
        optional_tags.pop(0)
        if extra.tag == 0xA3:
            inner = extra.children()
            if len(inner) != 1 or inner[0].tag != SEQUENCE:
                raise MalformedDer("extensions [3] must hold one SEQUENCE")
    return TbsFields(
        serial=serial,
        subject_common_name=first_common_name(subject, "subject"),
        subject_public_key_info=spki.encoded,
        not_before_ms=time_ms(validity[0], "notBefore"),
        not_after_ms=time_ms(validity[1], "notAfter"),
        issuer_common_name=first_common_name(issuer, "issuer"),
    )


def first_common_name(name: Element, what: str) -> bytes:
    """The first commonName (2.5.4.3) of a Name, RDN by RDN, as UTF-8 bytes (empty if none).

    Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET OF AttributeTypeAndValue;
    AttributeTypeAndValue ::= SEQUENCE { type OID, value DirectoryString }."""
    found = None
    for rdn in name.children():
        expect(rdn, SET, f"{what} RelativeDistinguishedName")
        for attribute in rdn.children():
            parts = expect(attribute, SEQUENCE, f"{what} AttributeTypeAndValue").children()
            if len(parts) != 2:
                raise MalformedDer(f"{what} AttributeTypeAndValue must hold a type and a value")
            expect(parts[0], OID, f"{what} attribute type")
            if found is None and parts[0].content == OID_COMMON_NAME:
                found = directory_string(parts[1], f"{what} commonName")
    return found if found is not None else b""


def directory_string(element: Element, what: str) -> bytes:
    """A DirectoryString (RFC 5280 §4.1.2.4) as UTF-8 bytes."""
    raw = element.content
    try:
        if element.tag == UTF8_STRING:
            raw.decode("utf-8")
            return raw
        if element.tag in (PRINTABLE_STRING, IA5_STRING):
            raw.decode("ascii")
            return raw
        if element.tag == TELETEX_STRING:     # treated as ISO 8859-1, as most parsers do
            return raw.decode("latin-1").encode("utf-8")
        if element.tag == BMP_STRING:
            return raw.decode("utf-16-be").encode("utf-8")
        if element.tag == UNIVERSAL_STRING:
            return raw.decode("utf-32-be").encode("utf-8")
    except UnicodeError as exc:
        raise PrecompileError(f"{what}: invalid string encoding ({exc.reason})") from None
    raise MalformedDer(f"{what}: tag 0x{element.tag:02x} is not a DirectoryString")


def time_ms(element: Element, what: str) -> int:
    """A Time (RFC 5280 §4.1.2.5) as unix milliseconds: UTCTime YYMMDDHHMMSSZ (YY < 50: 20YY,
    else 19YY) or GeneralizedTime YYYYMMDDHHMMSSZ, both in UTC with seconds and no fraction."""
    text = element.content
    if element.tag == UTC_TIME:
        if len(text) != 13:
            raise MalformedDer(f"{what}: UTCTime must be YYMMDDHHMMSSZ")
        digits = text[:12]
        yy = int(digits[:2]) if digits[:2].isdigit() else -1
        year_digits = (b"20" if 0 <= yy < 50 else b"19") + digits
    elif element.tag == GENERALIZED_TIME:
        if len(text) != 15:
            raise MalformedDer(f"{what}: GeneralizedTime must be YYYYMMDDHHMMSSZ")
        year_digits = text[:14]
    else:
        raise MalformedDer(f"{what}: expected UTCTime or GeneralizedTime, found tag 0x{element.tag:02x}")
    if text[-1:] != b"Z" or not year_digits.isdigit() or not year_digits.isascii():
        raise MalformedDer(f"{what}: time must be digits ending in Z")
    year, month, day = int(year_digits[:4]), int(year_digits[4:6]), int(year_digits[6:8])
    hour, minute, second = int(year_digits[8:10]), int(year_digits[10:12]), int(year_digits[12:14])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1 <= month <= 12 and 1 <= day <= month_days[month - 1] and hour < 24 and minute < 60 and second < 60):
        raise MalformedDer(f"{what}: {year_digits.decode()} is not a valid date and time")
    if year < 1970:
        raise PrecompileError(f"{what}: times before 1970 are not supported")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return seconds * 1000


def split_certificate(certificate: bytes) -> tuple[bytes, bytes, bytes]:
    """(tbsCertificate DER, signatureAlgorithm DER, signature bytes) of a DER Certificate
    (RFC 5280 §4.1.1): SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }."""
    root = expect(parse_der(certificate, "Certificate"), SEQUENCE, "Certificate")
    parts = root.children()
    if len(parts) != 3:
        raise MalformedDer(f"Certificate has {len(parts)} fields, expected 3")
    tbs = expect(parts[0], SEQUENCE, "tbsCertificate")
    algorithm = expect(parts[1], SEQUENCE, "signatureAlgorithm")
    bits = expect(parts[2], BIT_STRING, "signatureValue").content
    if not bits or bits[0] != 0:
        raise MalformedDer("signatureValue must be a whole number of bytes (0 unused bits)")
    return tbs.encoded, algorithm.encoded, bits[1:]


# -- signatures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    """A parsed public key matched with a supported algorithm, and what checking costs."""

    gas: int
    check: Callable[[bytes, bytes], None]   # (signature, data); raises InvalidSignature


def signature_algorithm(algorithm: bytes) -> str:
    """The supported AlgorithmIdentifier (RFC 5280 §4.1.1.2): "rsa-sha256" (params NULL or
    absent, RFC 4055), "ecdsa-sha256" (no params, RFC 5758) or "ed25519" (no params, RFC 8410)."""
    root = expect(parse_der(algorithm, "signatureAlgorithm"), SEQUENCE, "AlgorithmIdentifier")
    parts = root.children()
    if not parts or len(parts) > 2:
        raise MalformedDer("AlgorithmIdentifier must hold an OID and optional parameters")
    oid = expect(parts[0], OID, "algorithm").content
    params = parts[1:]
    if oid == OID_SHA256_WITH_RSA:
        if params and (params[0].tag != NULL or params[0].content):
            raise PrecompileError("sha256WithRSAEncryption parameters must be NULL")
        return "rsa-sha256"
    if oid == OID_ECDSA_WITH_SHA256:
        if params:
            raise PrecompileError("ecdsa-with-SHA256 takes no parameters")
        return "ecdsa-sha256"
    if oid == OID_ED25519:
        if params:
            raise PrecompileError("Ed25519 takes no parameters")
        return "ed25519"
    raise PrecompileError(f"unsupported algorithm: OID {_oid_text(oid)}")


def _oid_text(oid: bytes) -> str:
    """Dotted text of an OID's content, for messages (X.690 §8.19)."""
    arcs, value = [], 0
    for byte in oid:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return "(empty)"
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def verifier_for(subject_public_key_info: bytes, algorithm: bytes) -> Verifier:
    """The key in `subject_public_key_info` (DER SubjectPublicKeyInfo) ready to check
    signatures of `algorithm` (DER AlgorithmIdentifier); a mismatch is an error."""
    kind = signature_algorithm(algorithm)
    parse_der(subject_public_key_info, "subjectPublicKeyInfo")
    try:
        key = serialization.load_der_public_key(bytes(subject_public_key_info))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PrecompileError(f"unsupported or malformed subjectPublicKeyInfo: {_short(exc)}") from None
    if kind == "rsa-sha256":
        if not isinstance(key, rsa.RSAPublicKey):
            raise PrecompileError(f"key/algorithm mismatch: sha256WithRSAEncryption with a {_key_name(key)} key")
        bits = key.key_size
        if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
            raise PrecompileError(f"RSA modulus of {bits} bits: {RSA_MIN_BITS} to {RSA_MAX_BITS} are supported")
        if key.public_numbers().e.bit_length() > RSA_MAX_EXPONENT_BITS:
            raise PrecompileError(f"RSA public exponent longer than {RSA_MAX_EXPONENT_BITS} bits")
        return Verifier(rsa_verification_gas(bits),
                        lambda sig, data: key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256()))
    if kind == "ecdsa-sha256":
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise PrecompileError(f"key/algorithm mismatch: ecdsa-with-SHA256 with a {_key_name(key)} key")
        if isinstance(key.curve, ec.SECP256R1):
            gas = P256_GAS
        elif isinstance(key.curve, ec.SECP256K1):
            gas = SECP256K1_GAS
        else:
            raise PrecompileError(f"unsupported curve {key.curve.name}: P-256 and secp256k1 are supported")
        return Verifier(gas, lambda sig, data: key.verify(sig, data, ec.ECDSA(hashes.SHA256())))
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise PrecompileError(f"key/algorithm mismatch: Ed25519 with a {_key_name(key)} key")
    return Verifier(ED25519_GAS, lambda sig, data: key.verify(sig, data))


def _key_name(key) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__.lstrip("_")


def _short(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    return text[:120] if text else type(exc).__name__


def check_signature(verifier: Verifier, signature: bytes, data: bytes) -> bool:
    """True if `signature` over `data` verifies; a wrong or garbled signature is False."""
    try:
        verifier.check(bytes(signature), bytes(data))
    except InvalidSignature:
        return False
    except ValueError:
        return False
    return True


def blake2b256(data: bytes) -> bytes:
    """BLAKE2b with a 32-byte digest (the Auto ID identifier hash, spec domains.md §5.1)."""
    return hashlib.blake2b(bytes(data), digest_size=32).digest()


# -- the precompile ------------------------------------------------------------------------


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


SIGNATURES = {
    "parseTbsCertificate": "parseTbsCertificate(bytes)",
    "verifySignature": "verifySignature(bytes,bytes,bytes,bytes)",
    "splitCertificate": "splitCertificate(bytes)",
    "blake2b256": "blake2b256(bytes)",
}
SELECTORS = {name: selector(sig) for name, sig in SIGNATURES.items()}
_BY_SELECTOR = {sel: name for name, sel in SELECTORS.items()}


def decode_bytes_arguments(data: bytes, count: int, name: str) -> list[bytes]:
    """`count` ABI-encoded `bytes` arguments (Solidity ABI: a head of offsets, each pointing
    at a 32-byte length and the bytes). Offsets and lengths must lie inside the input."""
    if len(data) < 32 * count:
        raise PrecompileError(f"{name}: arguments are not valid ABI (input too short)")
    out = []
    for i in range(count):
        offset = int.from_bytes(data[32 * i:32 * i + 32], "big")
        if offset + 32 > len(data):
            raise PrecompileError(f"{name}: arguments are not valid ABI (offset of argument {i} out of range)")
        length = int.from_bytes(data[offset:offset + 32], "big")
        if offset + 32 + length > len(data):
            raise PrecompileError(f"{name}: arguments are not valid ABI (argument {i} runs past the input)")
        out.append(data[offset + 32:offset + 32 + length])
    return out


def encode_outputs(values: list) -> bytes:
    """ABI encoding of return values: int (uint256, uint64; bool as 0/1) and bytes (dynamic)."""
    head, tail = [], []
    tail_offset = 32 * len(values)
    for value in values:
        if isinstance(value, (bytes, bytearray)):
            head.append(tail_offset.to_bytes(32, "big"))
            padded = bytes(value) + b"\x00" * (-len(value) % 32)
            tail.append(len(value).to_bytes(32, "big") + padded)
            tail_offset += 32 + len(padded)
        else:
            head.append(int(value).to_bytes(32, "big"))
    return b"".join(head) + b"".join(tail)


def _run(computation: ComputationAPI, name: str, args: bytes) -> bytes:
    """Execute function `name` on its ABI `args`; gas beyond the base is consumed here."""
    if name == "parseTbsCertificate":
        (tbs,) = decode_bytes_arguments(args, 1, name)
        f = parse_tbs_certificate(tbs)
        return encode_outputs([f.serial, f.subject_common_name, f.subject_public_key_info,
                               f.not_before_ms, f.not_after_ms, f.issuer_common_name])
    if name == "verifySignature":
        spki, algorithm, data, signature = decode_bytes_arguments(args, 4, name)
        verifier = verifier_for(spki, algorithm)
        computation.consume_gas(verifier.gas, reason="X509 precompile: signature verification")
        return encode_outputs([check_signature(verifier, signature, data)])
    if name == "splitCertificate":
        (certificate,) = decode_bytes_arguments(args, 1, name)
        return encode_outputs(list(split_certificate(certificate)))
    (data,) = decode_bytes_arguments(args, 1, name)
    return blake2b256(data)                     # bytes32: the word itself


def x509_precompile(computation: ComputationAPI) -> ComputationAPI:
    """The precompile entry point py-evm calls with the message's computation."""
    data = bytes(computation.msg.data)
    name = _BY_SELECTOR.get(data[:4]) if len(data) >= 4 else None
    if name is None:
        computation.consume_gas(INVALID_CALL_GAS, reason="X509 precompile: invalid call")
        computation.output = error_output(
            "X509 precompile: input shorter than a selector" if len(data) < 4
            else f"X509 precompile: unknown selector 0x{data[:4].hex()}")
        raise Revert("X509 precompile: invalid call")
    computation.consume_gas(SCHEDULE[name].of(len(data)), reason=f"X509 precompile: {name}")
    try:
        output = _run(computation, name, data[4:])
    except VMError:
        raise                      # OutOfGas on the verification cost: as any precompile
    except PrecompileError as exc:
        reason = str(exc)
    except Exception as exc:       # never let an unexpected failure escape into the EVM
        reason = f"{name}: internal error ({type(exc).__name__})"
    else:
        computation.output = output
        return computation
    computation.output = error_output(reason)
    raise Revert(reason)


#: Every precompile the domain adds to py-evm's fork tables (address -> function).
DOMAIN_PRECOMPILES: dict[bytes, Callable[[ComputationAPI], ComputationAPI]] = {
    X509_PRECOMPILE_ADDRESS: x509_precompile,
}
