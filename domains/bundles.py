"""Bundles (spec/domains.md §2.1), election (§2.2), the stateless bundle checks (§2.3), and the
pure rules that derive a domain block from the bundles of one consensus block (§2.4).

A bundle is what an elected operator submits to the consensus chain for one slot: a batch of
domain transactions (raw EVM transactions, RLP / EIP-2718 bytes) plus the execution receipt of
the domain block it last executed.

Encoding (SCALE, `chain.scale`):

    Bundle = header BundleHeader ‖ signature [64] ‖ extrinsics Vec<Vec<u8>>
    BundleHeader = proof_of_election ProofOfElection ‖ receipt ExecutionReceipt ‖
        bundle_size u32 ‖ estimated_bundle_weight Weight ‖ bundle_extrinsics_root [32]
    ProofOfElection = domain_id u32 ‖ slot_number u64 ‖ proof_of_time [16] ‖
        vrf_signature (pre_output [32] ‖ proof [64]) ‖ operator_id u64
    Weight = ref_time Compact<u64> ‖ proof_size Compact<u64>

- header hash (`pre_hash`) = BLAKE2b-256(SCALE(header)); the operator signs it with its
  Ed25519 key (`chain.keys`; the live key is sr25519, see chain/keys.py for why Ed25519);
- bundle hash = BLAKE2b-256(SCALE(bundle));
- `bundle_size` = the body size: Σ len(SCALE(extrinsic)) = Σ (compact length prefix + bytes),
  as live `Bundle::size()`; it must match the body;
- `estimated_bundle_weight` = (Σ gas limit × `WEIGHT_PER_GAS` (25,000, spec §4.3), 0);
- `bundle_extrinsics_root` = the Ethereum ordered-trie root of the raw transactions: a
  Merkle-Patricia trie (keccak-256, the `trie` package) with key RLP(index) and value the raw
  transaction bytes. This is exactly an EVM block's `transactionsRoot` for the same list, so
  inclusion proofs are ordinary Ethereum trie proofs (live: Substrate ordered trie of the
  SCALE extrinsics, BlakeTwo256; we keep the EVM's own trie for EVM transactions). The empty
  body's root is keccak(RLP(b"")) = 0x56e81f17…b421.

Election (spec §2.2, simplified while there is no staking). The live network runs an sr25519
VRF lottery with threshold ⌊u128::MAX / den⌋ · num / total_stake · stake. Here:
- `vrf_signature.proof` = the operator's Ed25519 signature of the election transcript
  `b"bundle_producer_election" ‖ domain_id u32 LE ‖ global_challenge(pot_output, slot)`;
- `vrf_signature.pre_output` = BLAKE2b-256(b"bundle_producer_election" ‖ operator public key ‖
  transcript): deterministic and unique per (operator, slot), but *public* (anyone can compute
  who is elected). It is not a VRF; it is enough while the single genesis operator is the only
  operator, whose threshold with stake = total stake and probability (1, 1) is u128::MAX, so
  it is elected at every slot;
- elected iff the first 16 bytes of `pre_output` read as a little-endian u128 < threshold;
- `vrf_hash` = blake3(pre_output ‖ proof) selects the transactions the bundle may carry
  (`signer_in_tx_range`). Ed25519 signatures are not unique, so the operator could grind this
  hash; it already chooses what it bundles, so that gives it nothing new today.

Deriving the domain block (spec §2.4): `bundle_validity` (per bundle, against the parent state,
rules in the §2.4 order), `deduplicate_extrinsics` (first occurrence wins, by transaction hash),
`shuffle_extrinsics` (grouped by signer, Fisher–Yates over the positions with ChaCha8 seeded by
`shuffling_seed(randomness)`), see each function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

import blake3

from chain.chacha import keystream_block
from chain.keys import Signer, verify_signature
from chain.pot import global_challenge
from chain.trie_roots import rlp_index_key, trie_root_and_nodes
from chain.scale import (
    decode_bytes,
    decode_compact,
    decode_fixed,
    decode_u32,
    decode_u64,
    decode_vec,
    encode_bytes,
    encode_compact,
    encode_fixed,
    encode_u32,
    encode_u64,
    encode_vec,
    ensure_consumed,
)
from domains.receipts import (
    HASH_SIZE,
    ExecutionReceipt,
    InboxedBundle,
    InvalidBundleType,
    blake2b_256,
)

#: `WEIGHT_PER_GAS` = 10^12 / 40,000,000 gas per second (spec §4.3).
WEIGHT_PER_GAS = 25_000
#: `INITIAL_DOMAIN_TX_RANGE` (spec §2.4): a bundle may carry signers within U256::MAX / 3 / 2
#: of its vrf hash.
INITIAL_DOMAIN_TX_RANGE = 3
U256_MAX = (1 << 256) - 1
U128_MAX = (1 << 128) - 1
ELECTION_LABEL = b"bundle_producer_election"
SHUFFLING_SEED_SUBJECT = b"extrinsics-shuffling-seed"
POT_OUTPUT_SIZE = 16
SIGNATURE_SIZE = 64


class InvalidBundle(Exception):
    """A bundle that breaks a rule of spec §2.3. `check` names the rule (e.g. "BadSignature",
    "SlotInTheFuture"); the message says which bundle (slot, operator, hash) and what."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.detail = message


# ---------------------------------------------------------------------------------------------
# Types and encodings


@dataclass(frozen=True)
class Weight:
    """Substrate `Weight {ref_time, proof_size}` (both `Compact<u64>` in SCALE)."""

    ref_time: int = 0
    proof_size: int = 0

    def encode(self) -> bytes:
        return encode_compact(self.ref_time) + encode_compact(self.proof_size)

    @staticmethod
    def decode(data, offset: int) -> tuple["Weight", int]:
        ref_time, at = decode_compact(data, offset, "weight ref_time")
        proof_size, at = decode_compact(data, at, "weight proof_size")
        return Weight(ref_time, proof_size), at

    def fits_in(self, limit: "Weight") -> bool:
        return self.ref_time <= limit.ref_time and self.proof_size <= limit.proof_size


@dataclass(frozen=True)
class VrfSignature:
    """`{pre_output, proof}` (module docstring: what they are here)."""

    pre_output: bytes
    proof: bytes

    def encode(self) -> bytes:
        return encode_fixed(self.pre_output, 32, "vrf pre_output") + encode_fixed(self.proof, 64, "vrf proof")

    @staticmethod
    def decode(data, offset: int) -> tuple["VrfSignature", int]:
        pre_output, at = decode_fixed(data, offset, 32, "vrf pre_output")
        proof, at = decode_fixed(data, at, 64, "vrf proof")
        return VrfSignature(pre_output, proof), at


@dataclass(frozen=True)
class ProofOfElection:
    """Spec §2.1: the slot the operator claims and the proof that it was elected there."""

    domain_id: int
    slot_number: int
    proof_of_time: bytes
    vrf_signature: VrfSignature
    operator_id: int

    def encode(self) -> bytes:
        return (encode_u32(self.domain_id) + encode_u64(self.slot_number)
                + encode_fixed(self.proof_of_time, POT_OUTPUT_SIZE, "proof_of_time")
                + self.vrf_signature.encode() + encode_u64(self.operator_id))

    @staticmethod
    def decode(data, offset: int) -> tuple["ProofOfElection", int]:
        domain_id, at = decode_u32(data, offset, "domain_id")
        slot, at = decode_u64(data, at, "slot_number")
        pot, at = decode_fixed(data, at, POT_OUTPUT_SIZE, "proof_of_time")
        vrf, at = VrfSignature.decode(data, at)
        operator_id, at = decode_u64(data, at, "operator_id")
        return ProofOfElection(domain_id, slot, pot, vrf, operator_id), at


@dataclass(frozen=True)
class BundleHeader:
    """Spec §2.1 header (plus `bundle_size`, see the module docstring)."""

    proof_of_election: ProofOfElection
    receipt: ExecutionReceipt
    bundle_size: int
    estimated_bundle_weight: Weight
    bundle_extrinsics_root: bytes

    def encode(self) -> bytes:
        return (self.proof_of_election.encode() + self.receipt.encode() + encode_u32(self.bundle_size)
                + self.estimated_bundle_weight.encode()
                + encode_fixed(self.bundle_extrinsics_root, HASH_SIZE, "bundle_extrinsics_root"))

    @staticmethod
    def decode(data, offset: int) -> tuple["BundleHeader", int]:
        poe, at = ProofOfElection.decode(data, offset)
        receipt, at = ExecutionReceipt.decode_from(data, at)
        size, at = decode_u32(data, at, "bundle_size")
        weight, at = Weight.decode(data, at)
        root, at = decode_fixed(data, at, HASH_SIZE, "bundle_extrinsics_root")
        return BundleHeader(poe, receipt, size, weight, root), at

    def hash(self) -> bytes:
        """`pre_hash` = BLAKE2b-256(SCALE(header)): what the operator signs (spec §2.1)."""
        return blake2b_256(self.encode())


@dataclass(frozen=True)
class Bundle:
    """`Bundle::V0 {sealed_header: {header, signature}, extrinsics}` (spec §2.1)."""

    header: BundleHeader
    signature: bytes
    extrinsics: tuple[bytes, ...]

    def encode(self) -> bytes:
        return (self.header.encode() + encode_fixed(self.signature, SIGNATURE_SIZE, "bundle signature")
                + encode_vec(self.extrinsics, encode_bytes))

    @staticmethod
    def decode_from(data, offset: int) -> tuple["Bundle", int]:
        header, at = BundleHeader.decode(data, offset)
        signature, at = decode_fixed(data, at, SIGNATURE_SIZE, "bundle signature")
        extrinsics, at = decode_vec(data, at, lambda d, o: decode_bytes(d, o, "extrinsic"), "bundle extrinsics")
        return Bundle(header, signature, tuple(extrinsics)), at

    @classmethod
    def decode(cls, data: bytes) -> "Bundle":
        bundle, at = cls.decode_from(data, 0)
        ensure_consumed(data, at, "bundle")
        return bundle

    def hash(self) -> bytes:
        """BLAKE2b-256 of the whole encoded bundle (spec §2.1)."""
        return blake2b_256(self.encode())

    @property
    def domain_id(self) -> int:
        return self.header.proof_of_election.domain_id

    @property
    def operator_id(self) -> int:
        return self.header.proof_of_election.operator_id

    @property
    def slot(self) -> int:
        return self.header.proof_of_election.slot_number

    @property
    def receipt(self) -> ExecutionReceipt:
        return self.header.receipt

    @property
    def extrinsics_root(self) -> bytes:
        return self.header.bundle_extrinsics_root

    def describe(self) -> str:
        return (f"bundle of operator {self.operator_id} for domain {self.domain_id} at slot {self.slot} "
                f"({self.hash().hex()[:16]}…)")


# ---------------------------------------------------------------------------------------------
# Body commitments


def bundle_extrinsics_root(extrinsics: Sequence[bytes]) -> bytes:
    """The ordered trie root of the body: keccak MPT, key RLP(index), value the raw
    transaction (module docstring; equals an EVM block's transactionsRoot)."""
    # an empty transaction is no entry, as in any trie (the bundle checks refuse it anyway)
    root, _ = trie_root_and_nodes({rlp_index_key(i): bytes(raw) for i, raw in enumerate(extrinsics) if raw})
    return root


def bundle_body_size(extrinsics: Sequence[bytes]) -> int:
    """Σ len(SCALE(extrinsic)): the size the limits of spec §2.3 check 4 apply to."""
    return sum(len(encode_compact(len(raw))) + len(raw) for raw in extrinsics)


def estimate_bundle_weight(gas_limits: Iterable[int]) -> Weight:
    """The weight of a bundle's transactions: Σ gas limit × WEIGHT_PER_GAS (spec §4.3)."""
    return Weight(ref_time=sum(gas_limits) * WEIGHT_PER_GAS, proof_size=0)


# ---------------------------------------------------------------------------------------------
# Election (spec §2.2, simplified: module docstring)


def election_transcript(domain_id: int, slot: int, proof_of_time: bytes) -> bytes:
    """`b"bundle_producer_election" ‖ domain_id u32 LE ‖ global_challenge(pot, slot)`."""
    return ELECTION_LABEL + encode_u32(domain_id) + global_challenge(proof_of_time, slot)


def election_pre_output(public_key: bytes, transcript: bytes) -> bytes:
    """The public lottery value of (operator, slot) (module docstring)."""
    return blake2b_256(ELECTION_LABEL + bytes(public_key) + transcript)


def prove_election(signer: Signer, domain_id: int, slot: int, proof_of_time: bytes,
                   operator_id: int) -> ProofOfElection:
    """The operator's claim for `slot` (spec §2.2)."""
    transcript = election_transcript(domain_id, slot, proof_of_time)
    vrf = VrfSignature(pre_output=election_pre_output(signer.public_key, transcript),
                       proof=signer.sign(transcript))
    return ProofOfElection(domain_id, slot, bytes(proof_of_time), vrf, operator_id)


def election_threshold(bundle_slot_probability: tuple[int, int], operator_stake: int, total_stake: int) -> int:
    """threshold = ⌊u128::MAX / den⌋ · num / total_stake · operator_stake (spec §2.2), evaluated
    left to right in integers; capped at u128::MAX."""
    num, den = bundle_slot_probability
    if total_stake <= 0:
        return 0
    return min(U128_MAX, (U128_MAX // den) * num // total_stake * operator_stake)


def is_below_threshold(pre_output: bytes, threshold: int) -> bool:
    """Elected iff the first 16 bytes of `pre_output`, as a little-endian u128, are below the
    threshold (spec §2.2). A threshold of u128::MAX elects every value (single operator)."""
    return threshold >= U128_MAX or int.from_bytes(pre_output[:16], "little") < threshold


def check_proof_of_election(poe: ProofOfElection, operator_public_key: bytes, threshold: int) -> None:
    """The election proof verifies (spec §2.3 check 7): the proof is the operator's signature of
    the transcript, the pre-output is the one of (operator, transcript), and it wins."""
    transcript = election_transcript(poe.domain_id, poe.slot_number, poe.proof_of_time)
    where = f"operator {poe.operator_id} at slot {poe.slot_number}"
    if not verify_signature(operator_public_key, transcript, poe.vrf_signature.proof):
        raise InvalidBundle("BadVrfSignature", f"{where}: the election proof is not the operator's signature "
                                               f"of the election transcript")
    if poe.vrf_signature.pre_output != election_pre_output(operator_public_key, transcript):
        raise InvalidBundle("BadVrfPreOutput", f"{where}: pre_output does not match the transcript")
    if not is_below_threshold(poe.vrf_signature.pre_output, threshold):
        raise InvalidBundle("ThresholdUnsatisfied", f"{where}: election value above the threshold {threshold}")


def vrf_hash(poe: ProofOfElection) -> bytes:
    """`vrf_hash = blake3(pre_output ‖ proof)` (spec §2.2)."""
    return blake3.blake3(poe.vrf_signature.pre_output + poe.vrf_signature.proof).digest()


# ---------------------------------------------------------------------------------------------
# Building and signing


def seal_bundle(header: BundleHeader, signer: Signer, extrinsics: Sequence[bytes]) -> Bundle:
    """Sign `BLAKE2b-256(SCALE(header))` with the operator key (spec §2.1)."""
    return Bundle(header=header, signature=signer.sign(header.hash()), extrinsics=tuple(bytes(e) for e in extrinsics))


def make_bundle(signer: Signer, *, domain_id: int, operator_id: int, slot: int, proof_of_time: bytes,
                receipt: ExecutionReceipt, extrinsics: Sequence[bytes], gas_limits: Sequence[int]) -> Bundle:
    """A complete signed bundle for `slot` carrying `receipt` and `extrinsics`."""
    extrinsics = [bytes(e) for e in extrinsics]
    header = BundleHeader(
        proof_of_election=prove_election(signer, domain_id, slot, proof_of_time, operator_id),
        receipt=receipt,
        bundle_size=bundle_body_size(extrinsics),
        estimated_bundle_weight=estimate_bundle_weight(gas_limits),
        bundle_extrinsics_root=bundle_extrinsics_root(extrinsics),
    )
    return seal_bundle(header, signer, extrinsics)


# ---------------------------------------------------------------------------------------------
# Stateless checks of submit_bundle (spec §2.3)


def check_bundle_signature(bundle: Bundle, operator_public_key: bytes) -> None:
    """The signature is the operator's over the header hash (spec §2.3 check 5)."""
    if not verify_signature(operator_public_key, bundle.header.hash(), bundle.signature):
        raise InvalidBundle("BadSignature", f"{bundle.describe()}: the signature does not verify under "
                                            f"operator {bundle.operator_id}'s key {operator_public_key.hex()[:16]}…")


def check_bundle_size(bundle: Bundle, max_bundle_size: int) -> None:
    """The body size matches the header and is at most `max_bundle_size` (spec §2.3 check 4)."""
    size = bundle_body_size(bundle.extrinsics)
    if size != bundle.header.bundle_size:
        raise InvalidBundle("WrongBundleSize", f"{bundle.describe()}: header says {bundle.header.bundle_size} "
                                               f"body bytes, the body has {size}")
    if size > max_bundle_size:
        raise InvalidBundle("BundleTooLarge", f"{bundle.describe()}: body of {size} bytes exceeds the "
                                              f"domain's max_bundle_size {max_bundle_size}")


def check_bundle_weight(bundle: Bundle, max_bundle_weight: Weight) -> None:
    """`estimated_bundle_weight` ≤ `max_bundle_weight` (spec §2.3 check 4)."""
    weight = bundle.header.estimated_bundle_weight
    if not weight.fits_in(max_bundle_weight):
        raise InvalidBundle("BundleTooHeavy", f"{bundle.describe()}: estimated weight {weight} exceeds the "
                                              f"domain's max_bundle_weight {max_bundle_weight}")


def check_bundle_extrinsics_root(bundle: Bundle) -> None:
    """The extrinsics root recomputes from the body (spec §2.3 check 4)."""
    root = bundle_extrinsics_root(bundle.extrinsics)
    if root != bundle.header.bundle_extrinsics_root:
        raise InvalidBundle("WrongExtrinsicsRoot", f"{bundle.describe()}: header extrinsics root "
                                                   f"{bundle.header.bundle_extrinsics_root.hex()} != body root {root.hex()}")


def check_bundle_slot(bundle: Bundle, current_slot: int, oldest_allowed_slot: int) -> None:
    """The slot is not in the future and not older than the slot of the consensus block
    `BundleLongevity` blocks back (spec §2.3 check 6)."""
    if bundle.slot > current_slot:
        raise InvalidBundle("SlotInTheFuture", f"{bundle.describe()}: slot {bundle.slot} is after the "
                                               f"current block's slot {current_slot}")
    if bundle.slot < oldest_allowed_slot:
        raise InvalidBundle("StaleBundle", f"{bundle.describe()}: slot {bundle.slot} is older than {oldest_allowed_slot}, "
                                           f"the slot of the oldest consensus block a bundle may still be from")


# ---------------------------------------------------------------------------------------------
# Deriving the domain block (spec §2.4)


def extrinsic_digest(raw: bytes) -> bytes:
    """SCALE(`ExtrinsicDigest`): `Data(raw)` (0x00 ‖ Vec<u8>) under 33 bytes, else
    `Hash(BlakeTwo256(raw))` (0x01 ‖ [32])."""
    if len(raw) < 33:
        return b"\x00" + encode_bytes(raw)
    return b"\x01" + blake2b_256(raw)


def bundle_digest_hash(signers_and_extrinsics: Sequence[tuple[bytes | None, bytes]]) -> bytes:
    """The `Valid(hash)` of an inboxed bundle: BLAKE2b-256(SCALE(Vec<(Option<signer>,
    ExtrinsicDigest)>)) (spec §2.4); an EVM signer is its 20-byte address."""
    def item(pair):
        signer, raw = pair
        return (b"\x00" if signer is None else b"\x01" + bytes(signer)) + extrinsic_digest(raw)

    return blake2b_256(encode_vec(list(signers_and_extrinsics), item))


def bidirectional_distance(a: int, b: int) -> int:
    """Distance between two U256 values on the circle of size 2^256."""
    diff = (a - b) % (1 << 256)
    return min(diff, (1 << 256) - diff)


def signer_in_tx_range(bundle_vrf_hash: bytes, signer: bytes | None, tx_range: int) -> bool:
    """`OutOfRangeTx` rule (spec §2.4): blake3(SCALE(signer)) as a big-endian U256 must lie
    within tx_range / 2 of the bundle's vrf hash; unsigned extrinsics are always in range."""
    if signer is None:
        return True
    signer_hash = int.from_bytes(blake3.blake3(bytes(signer)).digest(), "big")
    return bidirectional_distance(int.from_bytes(bundle_vrf_hash, "big"), signer_hash) <= tx_range // 2


def tx_range_for(divisor: int) -> int:
    """tx_range = U256::MAX / divisor (`INITIAL_DOMAIN_TX_RANGE` = 3 live; 1 allows every signer)."""
    return U256_MAX // divisor


class BundleTxRules(Protocol):
    """What `bundle_validity` needs from the domain: decode a raw transaction to (signer, gas
    limit, transaction hash), raising on failure; and find the first transaction of a bundle
    that is illegal when the bundle's transactions are checked cumulatively on the parent
    state (nonce sequence, funds, fee cap, gas), or None."""

    def decode(self, raw: bytes) -> tuple[bytes | None, int, bytes]: ...

    def first_illegal(self, decoded: Sequence[tuple[bytes, object]]) -> tuple[int, str] | None: ...


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle after the §2.4 checks: its ER entry, and (if valid) its (signer, tx hash, raw)."""

    inboxed: InboxedBundle
    transactions: tuple[tuple[bytes | None, bytes, bytes], ...] = ()
    reason: str = ""


def bundle_validity(bundle: Bundle, rules: BundleTxRules, tx_range: int) -> CheckedBundle:
    """Validate one bundle against the parent domain state (spec §2.4), in the fixed order:
    per extrinsic (by index) 1 UndecodableTx, 2 OutOfRangeTx (3 InherentExtrinsic and 4
    InvalidXDM cannot occur: raw EVM transactions are never inherents or XDMs); then 5
    IllegalTx, the first transaction failing the cumulative check; then 6 InvalidBundleWeight
    (recomputed weight ≠ header weight). Any failure excludes the whole bundle."""
    root = bundle.header.bundle_extrinsics_root
    hash_ = vrf_hash(bundle.header.proof_of_election)
    decoded = []
    for index, raw in enumerate(bundle.extrinsics):
        try:
            signer, gas, tx_hash = rules.decode(raw)
        except Exception as exc:  # untrusted bytes: any decoder failure means undecodable
            return CheckedBundle(InboxedBundle.invalid(InvalidBundleType.UNDECODABLE_TX, index, root),
                                 reason=f"extrinsic {index}: {exc}")
        if not signer_in_tx_range(hash_, signer, tx_range):
            return CheckedBundle(InboxedBundle.invalid(InvalidBundleType.OUT_OF_RANGE_TX, index, root),
                                 reason=f"extrinsic {index}: signer {signer.hex()} outside the bundle's tx range")
        decoded.append((signer, gas, tx_hash, raw))
    illegal = rules.first_illegal([(d[0], d[3]) for d in decoded])
    if illegal is not None:
        index, why = illegal
        return CheckedBundle(InboxedBundle.invalid(InvalidBundleType.ILLEGAL_TX, index, root),
                             reason=f"extrinsic {index}: {why}")
    weight = estimate_bundle_weight(d[1] for d in decoded)
    if weight != bundle.header.estimated_bundle_weight:
        return CheckedBundle(InboxedBundle.invalid(InvalidBundleType.INVALID_BUNDLE_WEIGHT, None, root),
                             reason=f"estimated weight {bundle.header.estimated_bundle_weight} != recomputed {weight}")
    digest = bundle_digest_hash([(d[0], d[3]) for d in decoded])
    return CheckedBundle(InboxedBundle.valid(digest, root), tuple((d[0], d[2], d[3]) for d in decoded))


def deduplicate_extrinsics(items: Iterable[tuple[bytes | None, bytes, bytes]]) -> list[tuple[bytes | None, bytes, bytes]]:
    """The extrinsics of all valid bundles in inbox order, duplicates removed, the first
    occurrence winning (spec §2.4). Items are (signer, tx hash, raw); duplicates by tx hash."""
    seen: set[bytes] = set()
    out = []
    for item in items:
        if item[1] not in seen:
            seen.add(item[1])
            out.append(item)
    return out


def shuffling_seed(randomness: bytes) -> bytes:
    """The seed of the extrinsics shuffle of a consensus block (spec §2.4):
    `Randomness::random(b"extrinsics-shuffling-seed")` = BLAKE2b-256(subject ‖ block
    randomness), the block randomness being the global randomness of its slot
    (`BlockContext.randomness`)."""
    return blake2b_256(SHUFFLING_SEED_SUBJECT + bytes(randomness))


class ChaCha8Rng:
    """`rand_chacha::ChaCha8Rng::from_seed(seed)`: `next_u32` returns the little-endian 32-bit
    words of the ChaCha8 keystream (zero nonce, block counter from 0) in order."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError(f"ChaCha8Rng seed must be 32 bytes, got {len(seed)}")
        self.seed = bytes(seed)
        self._block = 0
        self._words: list[int] = []

    def next_u32(self) -> int:
        if not self._words:
            data = keystream_block(self.seed, self._block, 8)
            self._words = [int.from_bytes(data[i:i + 4], "little") for i in range(60, -1, -4)]
            self._block += 1
        return self._words.pop()

    def gen_index(self, bound: int) -> int:
        """`rand` 0.8 `gen_range(0..bound)` for a u32 bound (`UniformInt::sample_single`):
        widening multiply with rejection zone `(range << leading_zeros(range)) - 1`."""
        if not 0 < bound <= 0xFFFFFFFF:
            raise ValueError(f"gen_index bound must be in 1..2^32-1, got {bound}")
        zone = ((bound << (32 - bound.bit_length())) - 1) & 0xFFFFFFFF
        while True:
            product = self.next_u32() * bound
            if product & 0xFFFFFFFF <= zone:
                return product >> 32


def fisher_yates_shuffle(items: list, rng: ChaCha8Rng) -> list:
    """`rand` 0.8 `SliceRandom::shuffle`: for i from len−1 down to 1, swap i with
    gen_index(i + 1). Returns a new list."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = rng.gen_index(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def shuffle_extrinsics(items: Sequence[tuple[bytes | None, bytes, bytes]], seed: bytes) -> list[bytes]:
    """`shuffle_extrinsics` (spec §2.4): group the extrinsics by signer (unsigned ones form one
    group); shuffle the list of per-position signer labels with Fisher–Yates driven by ChaCha8
    seeded with `seed`; then pop each label's group in its original order. Each sender's
    transactions therefore keep their relative (nonce) order. Returns the raw transactions."""
    positions = fisher_yates_shuffle([signer for signer, _, _ in items], ChaCha8Rng(seed))
    groups: dict[bytes | None, list[bytes]] = {}
    for signer, _, raw in items:
        groups.setdefault(signer, []).append(raw)
    cursor = {signer: 0 for signer in groups}
    out = []
    for signer in positions:
        out.append(groups[signer][cursor[signer]])
        cursor[signer] += 1
    return out
