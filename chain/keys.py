"""Farmer / account keys and the block-seal (reward) signature (spec/consensus.md §8 "Header",
"Python signatures").

The live network seals blocks with an sr25519 (schnorrkel, Ristretto255 + Merlin) signature
under the signing context `b"subspace_reward"` (`REWARD_SIGNING_CONTEXT`,
`check_reward_signature`). That is not available from Python: `py-sr25519-bindings`
hard-codes the context `b"substrate"`, so it cannot produce `subspace_reward` signatures.
This module therefore uses **Ed25519** (the `cryptography` package) with the same sizes —
32-byte public keys, 64-byte signatures — behind the pluggable `Signer` protocol, and gets the
domain separation of the signing context by signing `b"subspace_reward" + pre_seal_hash`.

Ed25519 signatures are deterministic but *not unique* for a key (a verifier accepts other
valid signatures too), so nothing here uses them as a VRF or as a source of randomness; the
seal only authenticates the block author (the holder of the solution's farmer key).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import blake3
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "REWARD_SIGNING_CONTEXT",
    "DEV_KEY_DOMAIN",
    "Signer",
    "Ed25519Signer",
    "verify_signature",
    "sign_reward",
    "verify_reward_signature",
]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
#: The live signing context of the block seal (`crates/sp-consensus-subspace`, spec §1 table).
REWARD_SIGNING_CONTEXT = b"subspace_reward"
#: Dev keys: seed = blake3(DEV_KEY_DOMAIN + name).
DEV_KEY_DOMAIN = b"autonomys-dev-key:"


@runtime_checkable
class Signer(Protocol):
    """Anything that holds a 32-byte public key and signs messages with 64-byte signatures."""

    public_key: bytes

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """An Ed25519 key pair (RFC 8032) implementing `Signer`."""

    __slots__ = ("_private", "public_key", "seed")

    def __init__(self, private_key: Ed25519PrivateKey, seed: bytes | None = None):
        self._private = private_key
        self.seed = seed
        self.public_key: bytes = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """The key pair of a 32-byte secret seed."""
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise ValueError(f"Ed25519 seed must be 32 bytes, got {len(seed) if isinstance(seed, (bytes, bytearray)) else type(seed).__name__}")
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(seed)), bytes(seed))

    @classmethod
    def dev(cls, name: str) -> Ed25519Signer:
        """A deterministic, publicly known dev key: seed = blake3(b"autonomys-dev-key:" + name)."""
        return cls.from_seed(blake3.blake3(DEV_KEY_DOMAIN + name.encode()).digest())

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A fresh random key pair."""
        import os

        return cls.from_seed(os.urandom(32))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        return self._private.sign(bytes(message))

    def __repr__(self) -> str:
        return f"Ed25519Signer(public_key={self.public_key.hex()[:16]}…)"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid Ed25519 signature of `message` under `public_key`.

    Never raises: a malformed key (wrong length, not a curve point) or signature is just False.
    """
    try:
        if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
            return False
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), bytes(message))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - malformed input must never escape as an exception
        return False


def reward_signing_message(pre_seal_hash: bytes) -> bytes:
    """What the seal signs: the signing context `b"subspace_reward"` then the pre-seal hash."""
    return REWARD_SIGNING_CONTEXT + bytes(pre_seal_hash)


def sign_reward(signer: Signer, pre_seal_hash: bytes) -> bytes:
    """The block seal (`RewardSignature`) over a pre-seal header hash (spec §8 "Header")."""
    return signer.sign(reward_signing_message(pre_seal_hash))


def verify_reward_signature(public_key: bytes, pre_seal_hash: bytes, signature: bytes) -> bool:
    """`check_reward_signature`: the seal is the farmer key's signature of the pre-seal hash."""
    return verify_signature(public_key, reward_signing_message(pre_seal_hash), signature)
