"""Filling in and signing transactions: eth_fillTransaction and the dev signer.

`fill_transaction` completes a `GenericTransaction` the way geth's `setDefaults` does:
- type: as given; else 4 with an `authorizationList`, 0 (1 with an `accessList`) with a
  `gasPrice`, 2 from London on, 0 before; blob transactions are refused (a domain keeps no
  blobs);
- chain id: this domain's (a different one is refused);
- nonce: the sender's next nonce counting its pending pool transactions;
- fees (see `domains.rpc.fees`): legacy gas price = eth_gasPrice; EIP-1559 tip = the
  suggested tip and fee cap = 2 × next base fee + tip (a `gasPrice` given for a type 2
  transaction is used as both);
- gas: eth_estimateGas of the filled transaction in the next block's context.

The dev signer (`sign_transaction`, `sign_message`) signs with the node's dev keys through
eth-account; it exists only when the node was started with it (`DomainNode.dev_keys`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from eth.abc import SignedTransactionAPI
from eth.constants import ZERO_ADDRESS
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from domains.evm import execution
from domains.evm.chain import DomainChain
from domains.evm.node import DomainNode
from domains.rpc import fees
from domains.rpc import formatting as fmt
from domains.rpc.errors import ExecutionReverted, InvalidParams, ServerError

LONDON_TYPES = (2, 4)


@dataclass(frozen=True)
class FilledTransaction:
    """A complete unsigned transaction: its sender and its fields (ints and bytes)."""

    sender: bytes
    type: int
    chain_id: int
    nonce: int
    gas: int
    to: bytes | None
    value: int
    data: bytes
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    access_list: tuple = ()
    authorization_list: tuple = ()

    def to_eth_account(self) -> dict[str, Any]:
        """The dict eth-account signs."""
        tx: dict[str, Any] = {"chainId": self.chain_id, "nonce": self.nonce, "gas": self.gas,
                              "value": self.value, "data": self.data}
        if self.type:  # eth-account takes a legacy transaction without a type
            tx["type"] = self.type
        if self.to is not None:
            tx["to"] = to_checksum_address(self.to)
        if self.type in (0, 1):
            tx["gasPrice"] = self.gas_price
        else:
            tx["maxFeePerGas"] = self.max_fee_per_gas
            tx["maxPriorityFeePerGas"] = self.max_priority_fee_per_gas
        if self.type >= 1:
            tx["accessList"] = [{"address": to_checksum_address(a), "storageKeys": [fmt.word(k) for k in keys]}
                                for a, keys in self.access_list]
        if self.type == 4:
            tx["authorizationList"] = [{"chainId": a.chain_id, "address": to_checksum_address(a.address),
                                        "nonce": a.nonce, "yParity": a.y_parity, "r": a.r, "s": a.s}
                                       for a in self.authorization_list]
        return tx

    def to_json(self) -> dict[str, Any]:
        """The unsigned transaction as execution-apis `TransactionUnsigned` objects."""
        out: dict[str, Any] = {"type": fmt.quantity(self.type), "chainId": fmt.quantity(self.chain_id),
                               "nonce": fmt.quantity(self.nonce), "to": fmt.optional_address(self.to),
                               "gas": fmt.quantity(self.gas), "value": fmt.quantity(self.value),
                               "input": fmt.hexbytes(self.data)}
        if self.type in (0, 1):
            out["gasPrice"] = fmt.quantity(self.gas_price)
        else:
            out["maxFeePerGas"] = fmt.quantity(self.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = fmt.quantity(self.max_priority_fee_per_gas)
            out["gasPrice"] = fmt.quantity(self.max_fee_per_gas)
        if self.type >= 1:
            out["accessList"] = fmt.format_access_list(self.access_list)
        if self.type == 4:
            out["authorizationList"] = [fmt.format_authorization(a) for a in self.authorization_list]
        return out


def transaction_type(request: execution.CallRequest, london: bool) -> int:
    """The type a request becomes (see the module docstring)."""
    if request.tx_type is not None:
        kind = request.tx_type
    elif request.authorization_list:
        kind = 4
    elif request.gas_price is not None:
        kind = 1 if request.access_list else 0
    else:
        kind = 2 if london else 0
    if kind == 3:
        raise InvalidParams("invalid argument 0 (transaction): blob transactions are not supported on a domain")
    if kind not in (0, 1, 2, 4):
        raise InvalidParams(f"invalid argument 0 (transaction): unknown transaction type {kind}")
    if kind in LONDON_TYPES and not london:
        raise ServerError(f"transaction type {kind} is not valid before London is active")
    if kind == 4 and request.to is None:
        raise InvalidParams("invalid argument 0 (transaction): a set-code (type 4) transaction needs a `to` address")
    if kind == 4 and not request.authorization_list:
        raise InvalidParams("invalid argument 0 (transaction): a set-code (type 4) transaction needs a non-empty "
                            "authorizationList")
    return kind


def fill_transaction(chain: DomainChain, node: DomainNode, request: execution.CallRequest) -> FilledTransaction:
    """Complete `request` (see the module docstring)."""
    if request.chain_id is not None and request.chain_id != chain.chain_id:
        raise ServerError(f"chainId does not match node's (have={request.chain_id}, want={chain.chain_id})")
    header = execution.next_block_header(chain)
    base_fee = getattr(header, "base_fee_per_gas", None)
    kind = transaction_type(request, london=base_fee is not None)
    sender = request.sender or ZERO_ADDRESS
    tip = fees.suggested_tip(chain)
    priced: dict[str, int] = {}
    if kind in (0, 1):
        priced["gas_price"] = request.gas_price if request.gas_price is not None else fees.gas_price(chain)
    elif request.gas_price is not None:
        priced["max_fee_per_gas"] = priced["max_priority_fee_per_gas"] = request.gas_price
    else:
        max_tip = request.max_priority_fee_per_gas
        if max_tip is None:
            max_tip = min(tip, request.max_fee_per_gas) if request.max_fee_per_gas is not None else tip
        max_fee = request.max_fee_per_gas
        if max_fee is None:
            max_fee = fees.suggested_max_fee(base_fee or 0, max_tip)
        if max_fee < max_tip:
            raise ServerError(f"maxFeePerGas ({max_fee}) < maxPriorityFeePerGas ({max_tip})")
        priced["max_fee_per_gas"], priced["max_priority_fee_per_gas"] = max_fee, max_tip
    nonce = request.nonce if request.nonce is not None else node.next_nonce(sender)
    gas = request.gas
    if gas is None:
        estimate_request = dataclasses.replace(
            request, sender=sender, nonce=nonce,
            gas_price=priced.get("gas_price"), max_fee_per_gas=priced.get("max_fee_per_gas"),
            max_priority_fee_per_gas=priced.get("max_priority_fee_per_gas"))
        gas = estimate(chain, estimate_request, header)
    return FilledTransaction(
        sender=sender, type=kind, chain_id=chain.chain_id, nonce=nonce, gas=gas, to=request.to,
        value=request.value or 0, data=request.data, access_list=tuple(request.access_list or ()),
        authorization_list=tuple(request.authorization_list or ()), **priced)


def estimate(chain: DomainChain, request: execution.CallRequest, header) -> int:
    try:
        return execution.estimate_gas(chain, request, header)
    except execution.ExecutionReverted as exc:
        raise ExecutionReverted(exc.reason, exc.data) from None
    except execution.ExecutionError as exc:
        raise ServerError(exc.message) from None


def signing_key(node: DomainNode, sender: bytes | None) -> bytes:
    """The dev key of `sender`; -32000 "unknown account" when the signer has none."""
    if sender is None:
        raise InvalidParams("invalid argument 0 (transaction): from is required to sign")
    key = node.dev_keys.get(bytes(sender))
    if key is None:
        raise ServerError(f"unknown account {to_checksum_address(sender)}: the dev signer holds only the dev accounts")
    return key


def sign_transaction(chain: DomainChain, filled: FilledTransaction, key: bytes) -> tuple[bytes, SignedTransactionAPI]:
    """(raw bytes, decoded py-evm transaction) of `filled` signed with `key`."""
    try:
        raw = bytes(Account.sign_transaction(filled.to_eth_account(), key).raw_transaction)
    except (TypeError, ValueError) as exc:  # eth-account's field validation
        raise InvalidParams(f"invalid argument 0 (transaction): cannot sign it: {exc}") from None
    decoded = chain.pending_vm().get_transaction_builder().decode(raw)
    return raw, decoded


def sign_message(key: bytes, message: bytes) -> bytes:
    """EIP-191 personal-message signature (`eth_sign`), 65 bytes with v = 27/28."""
    return bytes(Account.sign_message(encode_defunct(primitive=message), key).signature)
