"""Typed errors of the consensus runtime.

Two kinds of failure exist (spec/consensus.md §8; Substrate's `TransactionValidityError` vs
`DispatchError`):

* `InvalidExtrinsic` (and subclasses): the extrinsic cannot be part of a valid block at all (it
  does not decode, its signature or nonce is wrong, its signer cannot pay the fee, an inherent
  is missing, duplicated, misplaced or fails). `Runtime.execute_block` raises it and the block
  is invalid; the pool rejects such an extrinsic.
* `chain.runtime.pallet.DispatchError`: the call itself failed (e.g. a transfer above the
  balance). The extrinsic stays in the block, pays its fee, and its effects are reverted.

Every error that makes a block invalid is an `InvalidExtrinsic`, including the ones about the
block as a whole (`InvalidBlockContext`, `MissingInherent`), so that the node catches one type.
"""

from __future__ import annotations


class InvalidExtrinsic(Exception):
    """An extrinsic (or the block's extrinsic list) that makes the block invalid.

    `index` is the extrinsic's position in the block when known (None in the pool or for
    whole-block rules); the message says what was wrong and where."""

    def __init__(self, message: str, index: int | None = None) -> None:
        where = f"extrinsic {index}: " if index is not None else ""
        super().__init__(where + message)
        self.index = index
        self.reason = message


class MalformedExtrinsic(InvalidExtrinsic):
    """The bytes are not a valid extrinsic encoding (or its call arguments do not decode)."""


class BadSignature(InvalidExtrinsic):
    """The signature does not verify over blake2b-256(genesis_hash ‖ nonce ‖ tip ‖ call)."""


class BadNonce(InvalidExtrinsic):
    """The nonce is not the signer's next nonce."""


class StaleNonce(BadNonce):
    """The nonce was already used (lower than the account's nonce)."""


class FutureNonce(BadNonce):
    """The nonce is higher than the account's nonce (valid later, not in this block)."""


class CannotPayFees(InvalidExtrinsic):
    """The signer's free balance is below the extrinsic's fee."""


class UnknownCall(InvalidExtrinsic):
    """No pallet with this index, or no call with this index in the pallet."""


class BadInherent(InvalidExtrinsic):
    """An inherent that is not allowed here: failing, duplicated, after a signed extrinsic,
    a signed-only call sent unsigned, or an inherent submitted to the pool."""


class MissingInherent(InvalidExtrinsic):
    """A mandatory inherent (timestamp `set`) is absent from the block."""


class UnknownGenesisHash(InvalidExtrinsic):
    """A signed extrinsic cannot be checked: the chain's genesis hash is not known yet."""


class InvalidBlockContext(InvalidExtrinsic):
    """The block context does not follow the parent state (wrong number, slot not increasing,
    unknown parent state root)."""
