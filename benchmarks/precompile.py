"""The X.509 precompile's wall time per `verifySignature` against `cryptography` called directly.

Rows, per key type (RSA-2048, P-256, secp256k1, Ed25519), a self-signed certificate's
signature over its TBS:
  verify <key> (precompile)   µs per call of the precompile function (domains.evm.precompiles.
                              x509_precompile) on ABI input: selector dispatch, ABI decoding, the
                              strict DER checks of the algorithm and the key, key loading, the
                              verification and ABI encoding. The anchor: `cryptography` loading
                              the same DER key and verifying, as a direct caller would per
                              certificate.
  verify <key> (EVM message)  the same call as a py-evm message to 0x…0801 in a scratch state of
                              the domain's Prague VM (what a CALL from a contract adds).
No target: information for the gas schedule (ours/anchor is the price of doing it in the EVM).

Usage: python benchmarks/precompile.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import best_time, print_rows, row  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from eth_abi import encode  # noqa: E402

from domains.evm import precompiles as P  # noqa: E402

KEYS = {
    "RSA-2048": lambda: rsa.generate_private_key(65537, 2048),
    "P-256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
    "Ed25519": ed25519.Ed25519PrivateKey.generate,
}


class _Computation:
    """What the precompile function uses of a py-evm computation: the input, gas, the output."""

    class _Msg:
        def __init__(self, data: bytes) -> None:
            self.data = data

    def __init__(self, data: bytes) -> None:
        self.msg = self._Msg(data)
        self.gas = 0
        self.output = b""

    def consume_gas(self, amount: int, reason: str) -> None:
        self.gas += amount


def _certificate(key) -> tuple[bytes, bytes, bytes, bytes]:
    """(SPKI, signatureAlgorithm, TBS, signature) of a self-signed certificate for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "benchmark")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime.datetime(2024, 1, 1))
            .not_valid_after(datetime.datetime(2034, 1, 1))
            .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()))
    tbs, algorithm, signature = P.split_certificate(cert.public_bytes(serialization.Encoding.DER))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki, algorithm, tbs, signature


def _direct(spki: bytes, tbs: bytes, signature: bytes):
    def verify() -> None:
        key = serialization.load_der_public_key(spki)
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, tbs, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, tbs, ec.ECDSA(hashes.SHA256()))
        else:
            key.verify(signature, tbs)
    return verify


def _evm_message(data: bytes):
    from eth import constants
    from eth.db.atomic import AtomicDB
    from eth.vm.chain_context import ChainContext
    from eth.vm.forks import PragueVM
    from eth.vm.message import Message

    from domains.evm.chain import domain_vm_class

    vm_class = domain_vm_class(PragueVM)
    header = vm_class.create_genesis_header(difficulty=0, gas_limit=30_000_000, timestamp=0, base_fee_per_gas=0,
                                            parent_beacon_block_root=constants.ZERO_HASH32)
    state_class = vm_class.get_state_class()
    state = state_class(AtomicDB(), vm_class.create_execution_context(header, (), ChainContext(1)),
                        constants.BLANK_ROOT_HASH)
    sender = b"\x11" * 20
    tx_context = state_class.get_transaction_context_class()(gas_price=0, origin=sender)

    def call() -> None:
        message = Message(gas=1_000_000, to=P.X509_PRECOMPILE_ADDRESS, sender=sender, value=0, data=data, code=b"")
        computation = state_class.computation_class.apply_message(state, message, tx_context)
        assert computation.is_success and computation.output[-1] == 1
    return call


def run(quick: bool = False) -> list[dict]:
    """Per key type: µs per verification through the precompile vs `cryptography` directly."""
    calls = 50 if quick else 500
    repeat = 3 if quick else 5
    rows = []
    for name, make in KEYS.items():
        spki, algorithm, tbs, signature = _certificate(make())
        data = P.SELECTORS["verifySignature"] + encode(["bytes"] * 4, [spki, algorithm, tbs, signature])

        def through_precompile() -> None:
            computation = _Computation(data)
            P.x509_precompile(computation)
            assert computation.output[-1] == 1

        direct = _direct(spki, tbs, signature)
        evm = _evm_message(data)
        through_precompile(), direct(), evm()    # warm up (and check)
        per_call = {}
        for label, fn in (("precompile", through_precompile), ("direct", direct), ("evm", evm)):
            per_call[label] = best_time(lambda fn=fn: [fn() for _ in range(calls)], repeat) / calls * 1e6
        gas = _Computation(data)
        P.x509_precompile(gas)
        rows.append(row(f"verify {name} (precompile)", "µs/call", per_call["precompile"], per_call["direct"],
                        "cryptography", "", None, ratio=per_call["precompile"] / per_call["direct"], gas=gas.gas))
        rows.append(row(f"verify {name} (EVM message)", "µs/call", per_call["evm"], per_call["direct"],
                        "cryptography", "", None, ratio=per_call["evm"] / per_call["direct"], gas=gas.gas))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per measurement")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    print_rows(rows)
    print()
    for r in rows[::2]:
        print(f"{r['name']:<32} gas {r['gas']:>7,}  precompile/cryptography {r['ratio']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
