"""Reading blocks, transactions and receipts from a domain chain for the gateway.

Block tags on a domain: `latest`, `safe`, `finalized` and `pending` all mean the committed
head (a dev domain has one block producer and no reorgs to wait out; `pending` state is the
head state, while `eth_getTransactionCount(.., "pending")` also counts the pool); `earliest`
is block 0. A block number above the head is "header not found" for state queries and null
for the `eth_getBlock*` family, as geth answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI

from domains.evm.chain import DomainChain
from domains.evm.recent import Recent
from domains.rpc import formatting as fmt
from domains.rpc.errors import HeaderNotFound, ServerError
from domains.rpc.params import BlockRef


def find_header(chain: DomainChain, ref: BlockRef) -> BlockHeaderAPI | None:
    """The header `ref` names, or None if this node has no such block."""
    if ref.hash is not None:
        header = chain.header_by_hash(ref.hash)
        if header is not None and ref.require_canonical and not chain.is_canonical(header):
            raise ServerError(f"hash 0x{ref.hash.hex()} is not currently canonical")
        return header
    if ref.number is not None:
        return chain.header_by_number(ref.number)
    if ref.tag == "earliest":
        return chain.header_by_number(0)
    return chain.head()


def header_for(chain: DomainChain, ref: BlockRef) -> BlockHeaderAPI:
    """The header `ref` names for a state query; -32000 "header not found" if absent."""
    header = find_header(chain, ref)
    if header is None:
        if ref.hash is not None:
            raise HeaderNotFound(f"header for hash 0x{ref.hash.hex()} not found")
        raise HeaderNotFound()
    return header


@dataclass
class BlockView:
    """A block with what formatting its transactions and receipts needs, loaded once."""

    header: BlockHeaderAPI
    block: BlockAPI
    _senders: dict[int, bytes] = field(default_factory=dict)
    _receipts: tuple[ReceiptAPI, ...] | None = None
    _offsets: list[tuple[int, int]] | None = None
    _blob_price: tuple[int | None] | None = None  # (blob base fee or None without blob transactions,)

    @classmethod
    def load(cls, chain: DomainChain, header: BlockHeaderAPI) -> "BlockView":
        return cls(header=header, block=chain.block_of(header))

    @property
    def transactions(self) -> tuple[SignedTransactionAPI, ...]:
        return tuple(self.block.transactions)

    def sender(self, index: int) -> bytes:
        """The sender of transaction `index` (its signature is recovered once per view)."""
        sender = self._senders.get(index)
        if sender is None:
            sender = self._senders[index] = self.block.transactions[index].sender
        return sender

    def receipts(self, chain: DomainChain) -> tuple[ReceiptAPI, ...]:
        if self._receipts is None:
            self._receipts = tuple(chain.receipts_of(self.header))
        return self._receipts

    def location(self, index: int) -> fmt.TxLocation:
        return fmt.TxLocation.in_block(self.header, index)

    def transaction_json(self, index: int) -> dict[str, Any]:
        tx = self.block.transactions[index]
        return fmt.format_transaction(tx, self.sender(index), self.location(index))

    def block_json(self, full_transactions: bool) -> dict[str, Any]:
        if full_transactions:
            transactions = [self.transaction_json(i) for i in range(len(self.block.transactions))]
        else:
            transactions = [fmt.hexbytes(tx.hash) for tx in self.block.transactions]
        return fmt.format_block(self.block, transactions)

    def receipts_json(self, chain: DomainChain, only: int | None = None) -> list[dict[str, Any]]:
        """Every receipt of the block (or only the one at index `only`), shaped."""
        receipts = self.receipts(chain)
        offsets = self._receipt_offsets(receipts)
        if self._blob_price is None:
            self._blob_price = (blob_base_fee_of(chain, self.header) if _has_blob_tx(self.block) else None,)
        blob_price = self._blob_price[0]
        indices = range(len(receipts)) if only is None else [only] if 0 <= only < len(receipts) else []
        out = []
        for index in indices:
            previous_gas, log_index = offsets[index]
            out.append(fmt.format_receipt(
                self.block.transactions[index], receipts[index], sender=self.sender(index),
                location=self.location(index), gas_used=receipts[index].gas_used - previous_gas,
                first_log_index=log_index, blob_gas_price=blob_price))
        return out

    def _receipt_offsets(self, receipts) -> list[tuple[int, int]]:
        """Per transaction: the cumulative gas before it and the block-wide index of its first
        log (computed once per view: a receipt needs every earlier one's)."""
        if self._offsets is None:
            offsets = []
            previous_gas = log_index = 0
            for receipt in receipts:
                offsets.append((previous_gas, log_index))
                previous_gas = receipt.gas_used
                log_index += len(receipt.logs)
            self._offsets = offsets
        return self._offsets


class BlockViews(Recent):
    """The views of the last `size` blocks asked for, by block hash.

    What a block hash names never changes, so a view (its decoded transactions, receipts and
    recovered senders) can be kept: clients that poll for receipts in a large block (a wallet
    waiting for its transaction, ten senders waiting for theirs) decode the block and recover
    each sender once instead of once per request."""

    def __init__(self, size: int = 32) -> None:
        super().__init__(size)

    def load(self, chain: DomainChain, header: BlockHeaderAPI) -> BlockView:
        view = self.get(header.hash)
        if view is None:
            view = BlockView.load(chain, header)  # unlocked: other requests go on meanwhile
            self.put(header.hash, view)
        return view


def find_transaction(chain: DomainChain, tx_hash: bytes,
                     views: BlockViews | None = None) -> tuple[BlockView, int] | None:
    """The canonical block holding `tx_hash` and its index there, or None (`views`: a cache
    to load the block through)."""
    location = chain.transaction_location(tx_hash)
    if location is None:
        return None
    number, index = location
    header = chain.header_by_number(number)
    if header is None:
        return None
    view = views.load(chain, header) if views is not None else BlockView.load(chain, header)
    if index >= len(view.block.transactions) or view.block.transactions[index].hash != tx_hash:
        return None  # the index points at a block that is no longer canonical
    return view, index


def _has_blob_tx(block: BlockAPI) -> bool:
    return any(fmt.transaction_type(tx) == 3 for tx in block.transactions)


def blob_base_fee_of(chain: DomainChain, header: BlockHeaderAPI) -> int:
    """The blob base fee of block `header` (from its excess blob gas); 0 before Cancun."""
    if getattr(header, "excess_blob_gas", None) is None:
        return 0
    try:
        return chain.state_at(header).blob_base_fee
    except (AttributeError, NotImplementedError):
        return 0
