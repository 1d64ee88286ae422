"""The extrinsic format of the consensus chain, and builders for the runtime's calls.

Encoding (SCALE; integers little-endian, `compact` = SCALE compact integer)
--------------------------------------------------------------------------
::

    Call      = pallet_index u8 ‖ call_index u8 ‖ args: Vec<u8>   (compact length ‖ bytes)
    Extrinsic = 0x00 ‖ Call                                         -- Inherent (unsigned)
              | 0x01 ‖ signer [u8; 32] ‖ nonce compact ‖ tip compact ‖ Call ‖ signature [u8; 64]
                                                                    -- Signed

* An extrinsic is exactly these bytes (no outer length prefix; the block encoding frames it).
  Trailing bytes, unknown variants and non-canonical compacts are rejected (`MalformedExtrinsic`).
* The signature is Ed25519 (`chain.keys`) by `signer` over the signing payload
  `blake2b-256(genesis_hash ‖ compact(nonce) ‖ compact(tip) ‖ Call)`; the genesis hash makes a
  signed extrinsic valid on one chain only (replay protection across chains).
* The fee a signed extrinsic pays is `base_fee + byte_fee · len(extrinsic bytes) + tip`
  (`chain.runtime.balances.extrinsic_fee`); the tip is also its pool priority.
* The extrinsic hash (pool and RPC identifier) is `blake2b-256(extrinsic bytes)`.

Call indices (pallet index, call index) mirror the live runtime where it has the call:

===========  =====  =================================================================
pallet       index  calls (index: name(args))
===========  =====  =================================================================
System       0      0: remark(data: Vec<u8>)
Timestamp    1      0: set(now: compact u64)                                [inherent]
Subspace     2      0: store_segment_headers(Vec<SegmentHeader>)            [inherent]
                    1: enable_solution_range_adjustment(Option<u64>, Option<u64>) [root]
                    5: set_pot_slot_iterations(u32)                         [root]
Rewards      4      (none)
Balances     5      0: transfer_allow_death(dest [u8;32], value compact u128)
                    3: transfer_keep_alive(dest [u8;32], value compact u128)
Sudo         100    0: sudo(call: Call)   -- dispatches `call` with the root origin
===========  =====  =================================================================

Extra pallets (e.g. the domains pallet) use their own `index`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from chain import scale
from chain.runtime.errors import MalformedExtrinsic
from chain.runtime.pallet import Call

SYSTEM_INDEX = 0
TIMESTAMP_INDEX = 1
SUBSPACE_INDEX = 2
REWARDS_INDEX = 4
BALANCES_INDEX = 5
SUDO_INDEX = 100

INHERENT = 0
SIGNED = 1
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


@dataclass(frozen=True)
class InherentExtrinsic:
    """An unsigned call a block author must or may include (timestamp, segment headers)."""

    call: Call

    @property
    def is_signed(self) -> bool:
        return False


@dataclass(frozen=True)
class SignedExtrinsic:
    """A call signed by an account, with its nonce and tip."""

    signer: bytes
    nonce: int
    tip: int
    call: Call
    signature: bytes

    @property
    def is_signed(self) -> bool:
        return True


Extrinsic = InherentExtrinsic | SignedExtrinsic


# --- Calls ----------------------------------------------------------------------------------


def encode_call(call: Call) -> bytes:
    """`pallet_index u8 ‖ call_index u8 ‖ compact(len(args)) ‖ args`."""
    return scale.encode_u8(call.pallet_index) + scale.encode_u8(call.call_index) + scale.encode_bytes(call.args)


def decode_call(data, offset: int = 0) -> tuple[Call, int]:
    pallet_index, at = scale.decode_u8(data, offset, "call pallet index")
    call_index, at = scale.decode_u8(data, at, "call index")
    args, at = scale.decode_bytes(data, at, "call args")
    return Call(pallet_index, call_index, args), at


# --- Extrinsics -----------------------------------------------------------------------------


def signing_payload(genesis_hash: bytes, nonce: int, tip: int, call: Call) -> bytes:
    """What a signed extrinsic's signature covers:
    `blake2b-256(genesis_hash ‖ compact(nonce) ‖ compact(tip) ‖ encode_call(call))`."""
    if len(genesis_hash) != 32:
        raise ValueError(f"genesis hash must be 32 bytes, got {len(genesis_hash)}")
    data = bytes(genesis_hash) + scale.encode_compact(nonce) + scale.encode_compact(tip) + encode_call(call)
    return hashlib.blake2b(data, digest_size=32).digest()


def encode_extrinsic(ext: Extrinsic) -> bytes:
    if isinstance(ext, InherentExtrinsic):
        return bytes([INHERENT]) + encode_call(ext.call)
    return (
        bytes([SIGNED])
        + scale.encode_fixed(ext.signer, PUBLIC_KEY_SIZE, "signer")
        + scale.encode_compact(ext.nonce)
        + scale.encode_compact(ext.tip)
        + encode_call(ext.call)
        + scale.encode_fixed(ext.signature, SIGNATURE_SIZE, "signature")
    )


def decode_extrinsic(data: bytes) -> Extrinsic:
    """Decode one extrinsic; raises `MalformedExtrinsic` (saying what and at which offset)."""
    try:
        variant, at = scale.decode_u8(data, 0, "extrinsic variant")
        if variant == INHERENT:
            call, at = decode_call(data, at)
            ext: Extrinsic = InherentExtrinsic(call)
        elif variant == SIGNED:
            signer, at = scale.decode_fixed(data, at, PUBLIC_KEY_SIZE, "signer")
            nonce, at = scale.decode_compact(data, at, "nonce")
            tip, at = scale.decode_compact(data, at, "tip")
            call, at = decode_call(data, at)
            signature, at = scale.decode_fixed(data, at, SIGNATURE_SIZE, "signature")
            ext = SignedExtrinsic(signer, nonce, tip, call, signature)
        else:
            raise MalformedExtrinsic(f"unknown extrinsic variant {variant} (0 = inherent, 1 = signed)")
        scale.ensure_consumed(data, at, "extrinsic")
    except scale.ScaleError as exc:
        raise MalformedExtrinsic(f"undecodable extrinsic: {exc}") from exc
    return ext


def extrinsic_hash(data: bytes) -> bytes:
    """`blake2b-256(extrinsic bytes)`: the extrinsic's identifier in the pool and RPC."""
    return hashlib.blake2b(bytes(data), digest_size=32).digest()


def inherent_extrinsic(call: Call) -> bytes:
    """The bytes of an inherent (unsigned) extrinsic."""
    return encode_extrinsic(InherentExtrinsic(call))


def signed_extrinsic(signer, call: Call, nonce: int, genesis_hash: bytes, tip: int = 0) -> bytes:
    """The bytes of `call` signed by `signer` (a `chain.keys.Signer`) for the chain whose
    genesis block hash is `genesis_hash`."""
    signature = signer.sign(signing_payload(genesis_hash, nonce, tip, call))
    return encode_extrinsic(SignedExtrinsic(bytes(signer.public_key), nonce, tip, call, signature))


def signed_transfer(signer, dest: bytes, amount: int, nonce: int, genesis_hash: bytes, tip: int = 0,
                    keep_alive: bool = False) -> bytes:
    """A signed `Balances.transfer_allow_death(dest, amount)` (or `transfer_keep_alive`)."""
    call = transfer_keep_alive_call(dest, amount) if keep_alive else transfer_call(dest, amount)
    return signed_extrinsic(signer, call, nonce, genesis_hash, tip)


# --- Call builders --------------------------------------------------------------------------


def remark_call(data: bytes) -> Call:
    return Call(SYSTEM_INDEX, 0, scale.encode_bytes(data))


def timestamp_set_call(now_ms: int) -> Call:
    return Call(TIMESTAMP_INDEX, 0, scale.encode_compact(now_ms))


def store_segment_headers_call(segment_headers: Sequence) -> Call:
    """`Subspace.store_segment_headers(Vec<SegmentHeader>)`; each header is
    `chain.archiving.SegmentHeader` (its own SCALE encoding)."""
    return Call(SUBSPACE_INDEX, 0, scale.encode_vec(list(segment_headers), lambda h: h.encode()))


def enable_solution_range_adjustment_call(solution_range_override: int | None = None,
                                          voting_solution_range_override: int | None = None) -> Call:
    return Call(
        SUBSPACE_INDEX,
        1,
        scale.encode_option(solution_range_override, scale.encode_u64)
        + scale.encode_option(voting_solution_range_override, scale.encode_u64),
    )


def set_pot_slot_iterations_call(slot_iterations: int) -> Call:
    return Call(SUBSPACE_INDEX, 5, scale.encode_u32(slot_iterations))


def transfer_call(dest: bytes, amount: int) -> Call:
    return Call(BALANCES_INDEX, 0, scale.encode_fixed(dest, 32, "dest") + scale.encode_compact(amount))


def transfer_keep_alive_call(dest: bytes, amount: int) -> Call:
    return Call(BALANCES_INDEX, 3, scale.encode_fixed(dest, 32, "dest") + scale.encode_compact(amount))


def sudo_call(call: Call) -> Call:
    """`Sudo.sudo(call)`: the sudo key dispatches `call` with the root origin."""
    return Call(SUDO_INDEX, 0, encode_call(call))
