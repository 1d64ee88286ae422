"""The JSON shapes of blocks, headers, transactions, receipts and logs, as geth returns them.

Encoding (execution-apis `base-types`): quantities are minimal 0x hex (`0x0`, `0x1f`), byte
strings 0x hex, addresses lowercase 0x hex (what geth returns; clients checksum them
themselves), hashes and storage words 32 bytes.

Shapes follow go-ethereum's `RPCMarshalHeader` / `RPCMarshalBlock` / `newRPCTransaction` /
`MarshalReceipt` and validate against the execution-apis schemas:
- headers carry the fork's optional fields when the fork has them (`baseFeePerGas`,
  `withdrawalsRoot`, `blobGasUsed`, `excessBlobGas`, `parentBeaconBlockRoot`, `requestsHash`);
  blocks add `size`, `transactions`, `uncles` and, from Shanghai, `withdrawals`;
- transactions carry `type`, `v`/`r`/`s`, `chainId` (legacy ones only when EIP-155 protected),
  `yParity` and `accessList` for typed ones, the fee caps for type 2+, `authorizationList` for
  type 4, blob fields for type 3, and `gasPrice` = the effective price once mined (the fee cap
  while pending); the block fields (`blockHash`, `blockNumber`, `blockTimestamp`,
  `transactionIndex`) are null while pending;
- receipts carry the transaction's own `gasUsed` (py-evm stores the cumulative figure),
  `effectiveGasPrice`, `contractAddress` for creations, `status` (or `root` before Byzantium),
  and logs indexed across the whole block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, BlockHeaderAPI, LogAPI, ReceiptAPI, SignedTransactionAPI

#: Blob gas per blob (EIP-4844).
GAS_PER_BLOB = 2**17


# -- scalars -----------------------------------------------------------------------------------

def quantity(value: int) -> str:
    """A minimal hex quantity."""
    return hex(value)


def hexbytes(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def address(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def optional_address(value: bytes | None) -> str | None:
    """An address, or None for the empty `to` of a contract creation."""
    return address(value) if value else None


def word(value: int) -> str:
    """A 256-bit integer as 32 bytes of hex (storage keys and values, topics)."""
    return "0x" + value.to_bytes(32, "big").hex()


def bloom(value: int) -> str:
    return "0x" + value.to_bytes(256, "big").hex()


def transaction_type(tx: SignedTransactionAPI) -> int:
    """The EIP-2718 type of `tx` (0 for legacy)."""
    return getattr(tx, "type_id", None) or 0


# -- headers and blocks -----------------------------------------------------------------------

#: Optional header fields: (py-evm attribute, JSON name, encoder); present from their fork on.
_OPTIONAL_HEADER_FIELDS = (
    ("base_fee_per_gas", "baseFeePerGas", quantity),
    ("withdrawals_root", "withdrawalsRoot", hexbytes),
    ("blob_gas_used", "blobGasUsed", quantity),
    ("excess_blob_gas", "excessBlobGas", quantity),
    ("parent_beacon_block_root", "parentBeaconBlockRoot", hexbytes),
    ("requests_hash", "requestsHash", hexbytes),
)


def format_header(header: BlockHeaderAPI) -> dict[str, Any]:
    """A header as geth's `RPCMarshalHeader` (also the `newHeads` subscription payload)."""
    out: dict[str, Any] = {
        "number": quantity(header.block_number),
        "hash": hexbytes(header.hash),
        "parentHash": hexbytes(header.parent_hash),
        "nonce": hexbytes(header.nonce.rjust(8, b"\x00")),
        "mixHash": hexbytes(header.mix_hash),
        "sha3Uncles": hexbytes(header.uncles_hash),
        "logsBloom": bloom(header.bloom),
        "stateRoot": hexbytes(header.state_root),
        "miner": address(header.coinbase),
        "difficulty": quantity(header.difficulty),
        "extraData": hexbytes(header.extra_data),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "transactionsRoot": hexbytes(header.transaction_root),
        "receiptsRoot": hexbytes(header.receipt_root),
    }
    for attribute, name, encode in _OPTIONAL_HEADER_FIELDS:
        value = getattr(header, attribute, None)
        if value is not None:
            out[name] = encode(value)
    return out


def block_size(block: BlockAPI) -> int:
    """The length of the block's RLP encoding (the `size` field)."""
    return len(rlp.encode(block))


def format_block(block: BlockAPI, transactions: list[Any]) -> dict[str, Any]:
    """A block as geth's `RPCMarshalBlock`; `transactions` is the already-shaped list (hashes
    or transaction objects)."""
    out = format_header(block.header)
    out["size"] = quantity(block_size(block))
    out["transactions"] = transactions
    out["uncles"] = [hexbytes(uncle.hash) for uncle in block.uncles]
    withdrawals = getattr(block, "withdrawals", None)
    if withdrawals is not None and getattr(block.header, "withdrawals_root", None) is not None:
        out["withdrawals"] = [format_withdrawal(w) for w in withdrawals]
    return out


def format_uncle(uncle: BlockHeaderAPI) -> dict[str, Any]:
    """An uncle header shaped as a block without transactions (geth's `getUncleBy*`)."""
    out = format_header(uncle)
    out["size"] = quantity(len(rlp.encode(uncle)))
    out["transactions"] = []
    out["uncles"] = []
    return out


def format_withdrawal(withdrawal: Any) -> dict[str, Any]:
    return {
        "index": quantity(withdrawal.index),
        "validatorIndex": quantity(withdrawal.validator_index),
        "address": address(withdrawal.address),
        "amount": quantity(withdrawal.amount),
    }


# -- transactions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TxLocation:
    """Where a mined transaction sits: its block and index, and the block's base fee."""

    block_hash: bytes
    block_number: int
    block_timestamp: int
    index: int
    base_fee: int | None

    @classmethod
    def in_block(cls, header: BlockHeaderAPI, index: int) -> "TxLocation":
        return cls(block_hash=header.hash, block_number=header.block_number,
                   block_timestamp=header.timestamp, index=index,
                   base_fee=getattr(header, "base_fee_per_gas", None))


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int | None) -> int:
    """What the sender paid per gas: `min(maxFee, baseFee + maxPriorityFee)` for EIP-1559
    transactions, the gas price for the others."""
    if transaction_type(tx) < 2:
        return tx.gas_price
    return min(tx.max_fee_per_gas, (base_fee or 0) + tx.max_priority_fee_per_gas)


def legacy_chain_id(tx: SignedTransactionAPI) -> int | None:
    """The EIP-155 chain id encoded in a legacy transaction's `v`, or None if unprotected."""
    return (tx.v - 35) // 2 if tx.v >= 35 else None


def format_transaction(tx: SignedTransactionAPI, sender: bytes,
                       location: TxLocation | None = None, *,
                       block_fields: bool = True) -> dict[str, Any]:
    """A transaction as geth's `newRPCTransaction`.

    `location` None means pending: block fields are null and `gasPrice` is the fee cap.
    `block_fields=False` leaves the block fields out entirely (a freshly signed transaction,
    as `eth_signTransaction` returns it)."""
    kind = transaction_type(tx)
    out: dict[str, Any] = {}
    if block_fields:
        out.update({
            "blockHash": hexbytes(location.block_hash) if location else None,
            "blockNumber": quantity(location.block_number) if location else None,
            "blockTimestamp": quantity(location.block_timestamp) if location else None,
            "transactionIndex": quantity(location.index) if location else None,
        })
    out.update({
        "hash": hexbytes(tx.hash),
        "type": quantity(kind),
        "from": address(sender),
        "to": optional_address(tx.to),
        "nonce": quantity(tx.nonce),
        "gas": quantity(tx.gas),
        "value": quantity(tx.value),
        "input": hexbytes(tx.data),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
    })
    if kind == 0:
        out["gasPrice"] = quantity(tx.gas_price)
        out["v"] = quantity(tx.v)
        chain_id = legacy_chain_id(tx)
        if chain_id is not None:
            out["chainId"] = quantity(chain_id)
        return out
    out["chainId"] = quantity(tx.chain_id)
    out["accessList"] = format_access_list(tx.access_list)
    out["yParity"] = quantity(tx.y_parity)
    out["v"] = quantity(tx.y_parity)
    if kind == 1:
        out["gasPrice"] = quantity(tx.gas_price)
        return out
    out["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
    out["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
    mined = location is not None and location.base_fee is not None
    out["gasPrice"] = quantity(effective_gas_price(tx, location.base_fee) if mined else tx.max_fee_per_gas)
    if kind == 3:
        out["maxFeePerBlobGas"] = quantity(tx.max_fee_per_blob_gas)
        out["blobVersionedHashes"] = [hexbytes(h) for h in tx.blob_versioned_hashes]
    if kind == 4:
        out["authorizationList"] = [format_authorization(a) for a in tx.authorization_list]
    return out


def format_access_list(access_list: Sequence[tuple[bytes, Sequence[int]]]) -> list[dict[str, Any]]:
    return [{"address": address(account), "storageKeys": [_storage_key(k) for k in keys]}
            for account, keys in access_list]


def _storage_key(key: int | bytes) -> str:
    return word(key) if isinstance(key, int) else hexbytes(bytes(key).rjust(32, b"\x00"))


def format_authorization(authorization: Any) -> dict[str, Any]:
    """An EIP-7702 authorization tuple."""
    return {
        "chainId": quantity(authorization.chain_id),
        "address": address(authorization.address),
        "nonce": quantity(authorization.nonce),
        "yParity": quantity(authorization.y_parity),
        "r": quantity(authorization.r),
        "s": quantity(authorization.s),
    }


def encode_transaction(tx: SignedTransactionAPI) -> bytes:
    """The EIP-2718 binary form: `type || payload` for typed transactions, RLP for legacy."""
    return tx.encode() if transaction_type(tx) else rlp.encode(tx)


# -- receipts and logs ------------------------------------------------------------------------

def format_log(log: LogAPI, *, location: TxLocation, tx_hash: bytes, log_index: int) -> dict[str, Any]:
    return {
        "address": address(log.address),
        "topics": [word(topic) for topic in log.topics],
        "data": hexbytes(log.data),
        "blockNumber": quantity(location.block_number),
        "transactionHash": hexbytes(tx_hash),
        "transactionIndex": quantity(location.index),
        "blockHash": hexbytes(location.block_hash),
        "blockTimestamp": quantity(location.block_timestamp),
        "logIndex": quantity(log_index),
        "removed": False,
    }


def format_receipt(tx: SignedTransactionAPI, receipt: ReceiptAPI, *, sender: bytes,
                   location: TxLocation, gas_used: int, first_log_index: int,
                   blob_gas_price: int | None = None) -> dict[str, Any]:
    """A receipt as geth's `MarshalReceipt`.

    `gas_used` is this transaction's own gas (the receipt's cumulative figure minus the
    previous one's); `first_log_index` the number of logs earlier transactions of the block
    emitted; `blob_gas_price` the block's blob base fee (blob transactions only)."""
    kind = transaction_type(tx)
    out: dict[str, Any] = {
        "type": quantity(kind),
        "transactionHash": hexbytes(tx.hash),
        "transactionIndex": quantity(location.index),
        "blockHash": hexbytes(location.block_hash),
        "blockNumber": quantity(location.block_number),
        "from": address(sender),
        "to": optional_address(tx.to),
        "cumulativeGasUsed": quantity(receipt.gas_used),
        "gasUsed": quantity(gas_used),
        "effectiveGasPrice": quantity(effective_gas_price(tx, location.base_fee)),
        "contractAddress": address(generate_contract_address(sender, tx.nonce)) if not tx.to else None,
        "logs": [format_log(log, location=location, tx_hash=tx.hash, log_index=first_log_index + i)
                 for i, log in enumerate(receipt.logs)],
        "logsBloom": bloom(receipt.bloom),
    }
    if len(receipt.state_root) == 32:  # before Byzantium: the post-transaction state root
        out["root"] = hexbytes(receipt.state_root)
    else:
        out["status"] = quantity(1 if receipt.state_root == b"\x01" else 0)
    if kind == 3:
        out["blobGasUsed"] = quantity(GAS_PER_BLOB * len(tx.blob_versioned_hashes))
        out["blobGasPrice"] = quantity(blob_gas_price or 0)
    return out
