"""The consensus chain's JSON-RPC: Substrate's `chain_*` / `author_*` / `system_*` names and the
live node's `subspace_*` names, on the same gateway as the domain's `eth_*`.

Served only when the gateway runs beside a consensus node (`autonomys dev`); without one each
method answers -32601 naming why. Names follow the live node where one exists
(`crates/sc-consensus-subspace-rpc`: `subspace_getFarmerAppInfo`, `subspace_lastSegmentHeaders`,
`subspace_segmentHeaders`, `subspace_piece`, `subspace_subscribeSlotInfo`; Substrate's
`chain_getHeader`, `chain_getBlock`, `chain_getBlockHash`, `chain_subscribeNewHeads`,
`author_submitExtrinsic`); `subspace_potInfo` and `subspace_solutionRanges` have no live
counterpart (the live node exposes them through runtime APIs) and are this project's.

Shapes: hashes and bytes are 0x-hex; header and block objects are Substrate's JSON
(`number` as hex, `digest.logs` as SCALE-encoded items); segment headers are the live serde
shape `{"v0": {"segmentIndex", "segmentCommitment", "prevSegmentHeaderHash", "lastArchivedBlock":
{"number", "archivedProgress": {"partial": n} | "complete"}}}`.
"""

from __future__ import annotations

from typing import Any

from domains.rpc import formatting as fmt
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import InvalidParams, RpcError, METHOD_NOT_FOUND
from domains.rpc.params import UINT64_MAX, ParamError, shorten, data, fixed_bytes, quantity

hash32 = fixed_bytes(32, "block hash")

table = MethodTable()

#: Substrate's error code for an extrinsic the pool refuses ("Invalid Transaction").
INVALID_EXTRINSIC = 1010
#: At most this many segment headers per request (the live node's limit is 1000).
MAX_SEGMENT_HEADERS = 1000


def consensus_of(ctx: Context):
    node = ctx.gateway.consensus
    if node is None:
        raise RpcError("the consensus chain is not served here: this gateway runs a domain alone "
                       "(`autonomys rpc`); use `autonomys dev`", code=METHOD_NOT_FOUND)
    return node


def _optional_hash(value: Any) -> bytes | None:
    return None if value is None else hash32(value)


def _block_number_or_hash(value: Any) -> int | bytes | None:
    """`chain_getBlockHash` takes a number (int or hex string); null means the best block."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParamError("expected a block number")
    if isinstance(value, int):
        if value < 0:
            raise ParamError("block number must not be negative")
        return value
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return quantity(value)
    raise ParamError(f"expected a block number, got {shorten(value)!r}")


def _non_negative(name: str, limit: int | None = None):
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParamError(f"{name} must be a non-negative integer, got {shorten(value)!r}")
        if limit is not None and value > limit:
            raise ParamError(f"{name} must be at most {limit}, got {value}")
        return value
    return parse


def _index_list(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise ParamError("expected an array of segment indices")
    if len(value) > MAX_SEGMENT_HEADERS:
        raise ParamError(f"at most {MAX_SEGMENT_HEADERS} segment indices per request, got {len(value)}")
    return [_non_negative("segment index", UINT64_MAX)(v) for v in value]


# -- shapes -------------------------------------------------------------------------------------

def format_header(header) -> dict[str, Any]:
    """Substrate's header JSON."""
    from chain.block import encode_digest_item

    return {
        "parentHash": fmt.hexbytes(header.parent_hash),
        "number": fmt.quantity(header.number),
        "stateRoot": fmt.hexbytes(header.state_root),
        "extrinsicsRoot": fmt.hexbytes(header.extrinsics_root),
        "digest": {"logs": [fmt.hexbytes(encode_digest_item(item)) for item in header.digest]},
    }


def format_signed_block(signed) -> dict[str, Any]:
    """Substrate's `SignedBlock` JSON: the block and its justifications (engine id, bytes)."""
    block = signed.block
    justifications = None
    if signed.justification is not None:
        from chain.block import ENGINE_ID

        justifications = [[fmt.hexbytes(ENGINE_ID), fmt.hexbytes(signed.justification.encode())]]
    return {"block": {"header": format_header(block.header),
                      "extrinsics": [fmt.hexbytes(x) for x in block.extrinsics]},
            "justifications": justifications}


def format_segment_header(header) -> dict[str, Any]:
    """The live node's serde shape of `SegmentHeader::V0`."""
    last = header.last_archived_block
    progress: Any = "complete" if last.partial is None else {"partial": last.partial}
    return {"v0": {
        "segmentIndex": header.segment_index,
        "segmentCommitment": fmt.hexbytes(header.segment_commitment),
        "prevSegmentHeaderHash": fmt.hexbytes(header.prev_segment_header_hash),
        "lastArchivedBlock": {"number": last.number, "archivedProgress": progress},
    }}


def format_slot_info(node, info) -> dict[str, Any]:
    """`subspace_slot_info` notification: what a farmer needs to audit the slot."""
    from chain.pot import global_challenge

    ranges = node.solution_ranges()
    return {"slotNumber": info.slot,
            "globalChallenge": fmt.hexbytes(global_challenge(info.output, info.slot)),
            "solutionRange": ranges.block_range,
            "votingSolutionRange": ranges.voting_next if ranges.voting_next is not None else ranges.voting_current}


# -- chain_* ------------------------------------------------------------------------------------

@table.method("chain_getBlockHash", Param("number", _block_number_or_hash, default=None))
def get_block_hash(ctx: Context, number: int | None) -> str | None:
    """The canonical block hash at `number` (the best block's when omitted), or null."""
    node = consensus_of(ctx)
    if number is None:
        return fmt.hexbytes(node.best_header().hash())
    found = node.canonical_hash(number)
    return None if found is None else fmt.hexbytes(found)


@table.method("chain_getHeader", Param("hash", _optional_hash, default=None))
def get_header(ctx: Context, block_hash: bytes | None) -> dict | None:
    node = consensus_of(ctx)
    header = node.best_header() if block_hash is None else node.header(block_hash)
    return None if header is None else format_header(header)


@table.method("chain_getBlock", Param("hash", _optional_hash, default=None))
def get_block(ctx: Context, block_hash: bytes | None) -> dict | None:
    node = consensus_of(ctx)
    signed = node.block(node.best_header().hash() if block_hash is None else block_hash)
    return None if signed is None else format_signed_block(signed)


@table.method("chain_subscribeNewHeads")
def subscribe_new_heads(ctx: Context) -> str:
    """A `chain_newHead` notification with each new best block's header."""
    return _subscribe(ctx, "chain_newHead")


@table.method("chain_unsubscribeNewHeads", Param("subscriptionId", lambda v: v))
def unsubscribe_new_heads(ctx: Context, sub_id: Any) -> bool:
    return _unsubscribe(ctx, sub_id, "chain_newHead")


# -- author_* / system_* -----------------------------------------------------------------------

@table.method("author_submitExtrinsic", Param("extrinsic", data))
def submit_extrinsic(ctx: Context, extrinsic: bytes) -> str:
    """Validate a signed extrinsic against the best state and pool it; its hash."""
    from chain.runtime.errors import InvalidExtrinsic

    node = consensus_of(ctx)
    try:
        return fmt.hexbytes(node.submit_extrinsic(extrinsic))
    except (InvalidExtrinsic, ValueError) as exc:  # the runtime's typed refusals
        raise RpcError(f"Invalid Transaction: {type(exc).__name__}: {exc}", code=INVALID_EXTRINSIC) from None
    except OverflowError as exc:  # the pool is full
        raise RpcError(f"Pool is full: {exc}", code=INVALID_EXTRINSIC + 4) from None


@table.method("system_chain")
def system_chain(ctx: Context) -> str:
    return f"Autonomys {consensus_of(ctx).params.name}"


@table.method("system_health")
def system_health(ctx: Context) -> dict:
    consensus_of(ctx)
    return {"peers": 0, "isSyncing": False, "shouldHavePeers": False}


# -- subspace_* ---------------------------------------------------------------------------------

@table.method("subspace_getFarmerAppInfo")
def farmer_app_info(ctx: Context) -> dict:
    """What a farmer needs to start (the live `FarmerAppInfo`, without DSN bootstrap nodes)."""
    node = consensus_of(ctx)
    params = node.params
    num, den = params.recent_history_fraction
    return {
        "genesisHash": fmt.hexbytes(node.canonical_hash(0)),
        "dsnBootstrapNodes": [],
        "syncing": False,
        "farmingTimeout": {"secs": 1, "nanos": 0},
        "protocolInfo": {
            "historySize": node.history_size(),
            "maxPiecesInSector": params.max_pieces_in_sector,
            "recentSegments": params.recent_segments,
            "recentHistoryFraction": [num, den],
            "minSectorLifetime": params.min_sector_lifetime,
        },
    }


@table.method("subspace_lastSegmentHeaders", Param("limit", _non_negative("limit", MAX_SEGMENT_HEADERS)))
def last_segment_headers(ctx: Context, limit: int) -> list:
    """The last `limit` segment headers, oldest first."""
    return [format_segment_header(h) for h in consensus_of(ctx).last_segment_headers(limit)]


@table.method("subspace_segmentHeaders", Param("segmentIndexes", _index_list))
def segment_headers(ctx: Context, indexes: list[int]) -> list:
    """The header of each requested segment, or null where it is not archived yet."""
    node = consensus_of(ctx)
    out = []
    for index in indexes:
        header = node.segment_header(index)
        out.append(None if header is None else format_segment_header(header))
    return out


@table.method("subspace_piece", Param("pieceIndex", _non_negative("piece index", UINT64_MAX)))
def piece(ctx: Context, index: int) -> str | None:
    """A piece from this node's archived history (the first layer of the DSN), or null."""
    found = consensus_of(ctx).piece(index)
    return None if found is None else fmt.hexbytes(found)


@table.method("subspace_potInfo")
def pot_info(ctx: Context) -> dict:
    """The PoT chain: the current slot, iterations per slot and the next parameter change."""
    info = consensus_of(ctx).pot_info()
    change = info.get("next_change")
    return {
        "slot": info["slot"],
        "slotIterations": info["slot_iterations"],
        "nextChange": None if change is None else {"slot": change.slot, "slotIterations": change.slot_iterations,
                                                   "entropy": fmt.hexbytes(change.entropy)},
    }


@table.method("subspace_solutionRanges")
def solution_ranges(ctx: Context) -> dict:
    """The best block's solution ranges (spec §7): current, next, and the voting ranges."""
    ranges = consensus_of(ctx).solution_ranges()
    return {"current": ranges.current, "next": ranges.next,
            "votingCurrent": ranges.voting_current, "votingNext": ranges.voting_next}


@table.method("subspace_subscribeSlotInfo")
def subscribe_slot_info(ctx: Context) -> str:
    """A `subspace_slot_info` notification per PoT slot (slot, global challenge, ranges)."""
    return _subscribe(ctx, "subspace_slot_info")


@table.method("subspace_unsubscribeSlotInfo", Param("subscriptionId", lambda v: v))
def unsubscribe_slot_info(ctx: Context, sub_id: Any) -> bool:
    return _unsubscribe(ctx, sub_id, "subspace_slot_info")


# -- subscriptions -------------------------------------------------------------------------------

def _subscribe(ctx: Context, method: str) -> str:
    consensus_of(ctx)
    connection = ctx.require_connection()
    sub = ctx.gateway.subscriptions.subscribe(connection, method, method=method)
    connection.subscription_started(sub)
    return sub.hex_id


def _unsubscribe(ctx: Context, sub_id: Any, kind: str) -> bool:
    connection = ctx.require_connection()
    try:
        if isinstance(sub_id, str):
            value = quantity(sub_id)
        elif isinstance(sub_id, int) and not isinstance(sub_id, bool) and sub_id >= 0:
            value = sub_id
        else:
            raise ParamError("expected a hex string or a non-negative integer")
    except ParamError as exc:
        raise InvalidParams(f"invalid argument 0 (subscriptionId): {shorten(sub_id)!r}: {exc}") from None
    return ctx.gateway.subscriptions.unsubscribe(connection, value, kinds=(kind,))
