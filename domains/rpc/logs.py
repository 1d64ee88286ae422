"""Log filters: criteria, block ranges, and the queries behind eth_getLogs, filters and the
`logs` subscription.

A filter object (execution-apis `Filter`) is either a block range (`fromBlock`, `toBlock`,
default `latest`) or one block (`blockHash`), plus:
- `address`: one address or a list; a log matches if it was emitted by any of them (an empty
  list: any address, as geth reads it);
- `topics`: up to four positions, each null (anything), one topic, or a list of topics (any
  of them; an empty list or a list holding null also means anything). A log matches if every
  constrained position matches; a log with fewer topics than the filter has positions does not.

Queries walk the range block by block and skip a block whose header bloom cannot contain
the addresses and topics asked for, before reading its receipts.

Limits, as public endpoints apply them: a range of more than `block_range_limit` blocks is
refused with -32005 "query exceeds max block range N", and a query matching more than
`result_limit` logs with -32005 "query returned more than N results". Range errors follow geth
and the execution-apis fixtures: -32602 "invalid block range params" when from > to, and
-32602 "block range extends beyond current head block".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from eth.abc import BlockHeaderAPI, LogAPI, ReceiptAPI
from eth_bloom import BloomFilter

from domains.evm.chain import DomainChain
from domains.rpc import formatting as fmt
from domains.rpc.errors import InvalidParams, LimitExceeded, ServerError
from domains.rpc.params import BlockRef, ParamError, address, block_number_or_tag, hash32

MAX_TOPICS = 4


@dataclass(frozen=True)
class LogCriteria:
    """Which logs match: emitting addresses (None = any) and topics by position."""

    addresses: frozenset[bytes] | None = None
    topics: tuple[frozenset[int] | None, ...] = ()

    def matches(self, log: LogAPI) -> bool:
        if self.addresses is not None and bytes(log.address) not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(wanted is None or topic in wanted for wanted, topic in zip(self.topics, log.topics))

    def may_be_in(self, bloom_value: int) -> bool:
        """False when the block bloom proves no log in the block can match."""
        if self.addresses is None and all(t is None for t in self.topics):
            return True
        bloom = BloomFilter(bloom_value)
        if self.addresses is not None and not any(a in bloom for a in self.addresses):
            return False
        for wanted in self.topics:
            if wanted is not None and not any(t.to_bytes(32, "big") in bloom for t in wanted):
                return False
        return True


@dataclass(frozen=True)
class LogFilter:
    """A whole filter object: criteria plus either a block range or one block hash."""

    criteria: LogCriteria
    from_block: BlockRef | None = None
    to_block: BlockRef | None = None
    block_hash: bytes | None = None


# -- parsing -----------------------------------------------------------------------------------

def log_filter(value: Any) -> LogFilter:
    """Parse a `Filter` object (a parameter parser: raises `ParamError`)."""
    if not isinstance(value, dict):
        raise ParamError("a filter must be a JSON object")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise ParamError("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
        block_hash = _field(value, "blockHash", hash32)
    return LogFilter(
        criteria=log_criteria(value),
        from_block=_field(value, "fromBlock", block_number_or_tag),
        to_block=_field(value, "toBlock", block_number_or_tag),
        block_hash=block_hash,
    )


def log_criteria(value: dict) -> LogCriteria:
    """The `address` and `topics` members of a filter or `logs` subscription object."""
    return LogCriteria(addresses=_field(value, "address", _addresses), topics=_field(value, "topics", _topics) or ())


def _field(value: dict, name: str, parse):
    raw = value.get(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ParamError as exc:
        raise ParamError(f"{name}: {exc}") from None


def _addresses(value: Any) -> frozenset[bytes] | None:
    """One address or a list of them; an empty list constrains nothing (as geth reads it)."""
    if isinstance(value, list):
        return frozenset(address(item) for item in value) or None
    return frozenset({address(value)})


def _topics(value: Any) -> tuple[frozenset[int] | None, ...]:
    if not isinstance(value, list):
        raise ParamError("topics must be an array")
    if len(value) > MAX_TOPICS:
        raise ParamError(f"exceed max topics: {len(value)} positions, at most {MAX_TOPICS}")
    positions: list[frozenset[int] | None] = []
    for position, item in enumerate(value):
        try:
            positions.append(_topic_position(item))
        except ParamError as exc:
            raise ParamError(f"position {position}: {exc}") from None
    return tuple(positions)


def _topic_position(item: Any) -> frozenset[int] | None:
    if item is None:
        return None
    if isinstance(item, list):
        # Every listed topic is checked, even when a null in the list makes the position open.
        wanted = [t if t is None else int.from_bytes(hash32(t), "big") for t in item]
        if not wanted or None in wanted:
            return None
        return frozenset(wanted)
    return frozenset({int.from_bytes(hash32(item), "big")})


# -- ranges ------------------------------------------------------------------------------------

def block_number_of(chain: DomainChain, ref: BlockRef | None, head: int) -> int:
    """A range bound as a block number (tags: `earliest` 0, the others the head)."""
    if ref is None:
        return head
    if ref.number is not None:
        return ref.number
    return 0 if ref.tag == "earliest" else head


def resolve_range(chain: DomainChain, flt: LogFilter, *, block_range_limit: int) -> tuple[int, int]:
    """The (first, last) block numbers a range filter covers, checked against the limits."""
    head = chain.head().block_number
    first = block_number_of(chain, flt.from_block, head)
    last = block_number_of(chain, flt.to_block, head)
    if first > last:
        raise InvalidParams("invalid block range params")
    if last > head:
        raise InvalidParams("block range extends beyond current head block")
    if last - first + 1 > block_range_limit:
        raise LimitExceeded(f"query exceeds max block range {block_range_limit}")
    return first, last


def header_of_hash(chain: DomainChain, block_hash: bytes) -> BlockHeaderAPI:
    header = chain.header_by_hash(block_hash)
    if header is None:
        raise ServerError("unknown block")
    return header


# -- queries -----------------------------------------------------------------------------------

def logs_of_block(header: BlockHeaderAPI, tx_hashes: Sequence[bytes], receipts: Iterable[ReceiptAPI],
                  criteria: LogCriteria) -> list[dict[str, Any]]:
    """The matching logs of one block, shaped, with block-wide log indexes."""
    out = []
    log_index = 0
    for index, (tx_hash, receipt) in enumerate(zip(tx_hashes, receipts)):
        location = None
        for log in receipt.logs:
            if criteria.matches(log):
                location = location or fmt.TxLocation.in_block(header, index)
                out.append(fmt.format_log(log, location=location, tx_hash=tx_hash, log_index=log_index))
            log_index += 1
    return out


def block_logs(chain: DomainChain, header: BlockHeaderAPI, criteria: LogCriteria) -> list[dict[str, Any]]:
    """The matching logs of a committed block (nothing read if the bloom rules it out)."""
    if not criteria.may_be_in(header.bloom):
        return []
    tx_hashes = chain.chaindb.get_block_transaction_hashes(header)
    return logs_of_block(header, tx_hashes, chain.receipts_of(header), criteria)


def query_logs(chain: DomainChain, first: int, last: int, criteria: LogCriteria, *,
               result_limit: int) -> list[dict[str, Any]]:
    """Every matching log of canonical blocks `first`..`last`, in chain order."""
    out: list[dict[str, Any]] = []
    for number in range(first, last + 1):
        header = chain.header_by_number(number)
        if header is None:
            break
        out.extend(block_logs(chain, header, criteria))
        if len(out) > result_limit:
            raise LimitExceeded(f"query returned more than {result_limit} results")
    return out


def run_filter(chain: DomainChain, flt: LogFilter, *, block_range_limit: int, result_limit: int) -> list[dict[str, Any]]:
    """eth_getLogs: the logs `flt` selects."""
    if flt.block_hash is not None:
        logs = block_logs(chain, header_of_hash(chain, flt.block_hash), flt.criteria)
        if len(logs) > result_limit:
            raise LimitExceeded(f"query returned more than {result_limit} results")
        return logs
    first, last = resolve_range(chain, flt, block_range_limit=block_range_limit)
    return query_logs(chain, first, last, flt.criteria, result_limit=result_limit)
