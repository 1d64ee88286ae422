"""eth_* methods about the chain itself: identity, head, blocks, transactions, receipts, uncles,
and the node's configuration (`eth_config`, `eth_capabilities`)."""

from __future__ import annotations

import zlib
from typing import Any

from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
from eth.vm.forks.prague import constants as prague

from domains.evm.genesis import FORK_NAMES
from domains.evm.precompiles import X509_PRECOMPILE_ADDRESS, X509_PRECOMPILE_NAME
from domains.rpc import formatting as fmt
from domains.rpc.blocks import BlockView, find_header
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import ResourceNotFound, ServerError
from domains.rpc.params import BlockRef, block_number_or_tag, block_ref, boolean, hash32, uint64

table = MethodTable()


# -- identity and head -------------------------------------------------------------------------

@table.method("eth_chainId")
def chain_id(ctx: Context) -> str:
    return fmt.quantity(ctx.chain.chain_id)


@table.method("eth_blockNumber")
def block_number(ctx: Context) -> str:
    return fmt.quantity(ctx.chain.head().block_number)


@table.method("eth_syncing")
def syncing(ctx: Context) -> bool:
    """A domain node's chain is its own: it never syncs from peers."""
    return False


@table.method("eth_coinbase")
def coinbase(ctx: Context) -> str:
    return fmt.address(ctx.node.coinbase)


@table.method("eth_accounts")
def accounts(ctx: Context) -> list[str]:
    """The dev signer's accounts; [] when the dev signer is off."""
    if not ctx.config.dev_signer:
        return []
    return [fmt.address(a) for a in ctx.node.dev_keys]


# -- blocks ------------------------------------------------------------------------------------

@table.method("eth_getBlockByNumber", Param("block", block_number_or_tag), Param("hydrated", boolean))
def get_block_by_number(ctx: Context, ref, hydrated: bool) -> dict | None:
    return _block_json(ctx, ref, hydrated)


@table.method("eth_getBlockByHash", Param("blockHash", hash32), Param("hydrated", boolean))
def get_block_by_hash(ctx: Context, block_hash: bytes, hydrated: bool) -> dict | None:
    return _block_json(ctx, _hash_ref(block_hash), hydrated)


def _block_json(ctx: Context, ref, hydrated: bool) -> dict | None:
    header = find_header(ctx.chain, ref)
    if header is None:
        return None
    return ctx.view(header).block_json(hydrated)


def _hash_ref(block_hash: bytes) -> BlockRef:
    return BlockRef(hash=block_hash)


def _view(ctx: Context, ref) -> BlockView | None:
    header = find_header(ctx.chain, ref)
    return None if header is None else ctx.view(header)


@table.method("eth_getBlockTransactionCountByNumber", Param("block", block_number_or_tag))
def transaction_count_by_number(ctx: Context, ref) -> str | None:
    view = _view(ctx, ref)
    return None if view is None else fmt.quantity(len(view.transactions))


@table.method("eth_getBlockTransactionCountByHash", Param("blockHash", hash32))
def transaction_count_by_hash(ctx: Context, block_hash: bytes) -> str | None:
    view = _view(ctx, _hash_ref(block_hash))
    return None if view is None else fmt.quantity(len(view.transactions))


@table.method("eth_getUncleCountByBlockNumber", Param("block", block_number_or_tag))
def uncle_count_by_number(ctx: Context, ref) -> str | None:
    view = _view(ctx, ref)
    return None if view is None else fmt.quantity(len(view.block.uncles))


@table.method("eth_getUncleCountByBlockHash", Param("blockHash", hash32))
def uncle_count_by_hash(ctx: Context, block_hash: bytes) -> str | None:
    view = _view(ctx, _hash_ref(block_hash))
    return None if view is None else fmt.quantity(len(view.block.uncles))


@table.method("eth_getUncleByBlockNumberAndIndex", Param("block", block_number_or_tag), Param("index", uint64))
def uncle_by_number(ctx: Context, ref, index: int) -> dict | None:
    return _uncle(_view(ctx, ref), index)


@table.method("eth_getUncleByBlockHashAndIndex", Param("blockHash", hash32), Param("index", uint64))
def uncle_by_hash(ctx: Context, block_hash: bytes, index: int) -> dict | None:
    return _uncle(_view(ctx, _hash_ref(block_hash)), index)


def _uncle(view: BlockView | None, index: int) -> dict | None:
    if view is None or index >= len(view.block.uncles):
        return None
    return fmt.format_uncle(view.block.uncles[index])


# -- transactions and receipts -----------------------------------------------------------------

@table.method("eth_getTransactionByHash", Param("transactionHash", hash32))
def transaction_by_hash(ctx: Context, tx_hash: bytes) -> dict | None:
    """A mined transaction, or a pending one from the pool (with null block fields)."""
    found = ctx.find_transaction(tx_hash)
    if found is not None:
        view, index = found
        return view.transaction_json(index)
    pending = ctx.node.pool.get(tx_hash)
    if pending is not None:
        return fmt.format_transaction(pending.tx, pending.sender, None)
    return None


@table.method("eth_getTransactionByBlockHashAndIndex", Param("blockHash", hash32), Param("index", uint64))
def transaction_by_hash_and_index(ctx: Context, block_hash: bytes, index: int) -> dict | None:
    return _transaction_at(_view(ctx, _hash_ref(block_hash)), index)


@table.method("eth_getTransactionByBlockNumberAndIndex", Param("block", block_number_or_tag), Param("index", uint64))
def transaction_by_number_and_index(ctx: Context, ref, index: int) -> dict | None:
    return _transaction_at(_view(ctx, ref), index)


def _transaction_at(view: BlockView | None, index: int) -> dict | None:
    if view is None or index >= len(view.transactions):
        return None
    return view.transaction_json(index)


@table.method("eth_getTransactionReceipt", Param("transactionHash", hash32))
def transaction_receipt(ctx: Context, tx_hash: bytes) -> dict | None:
    found = ctx.find_transaction(tx_hash)
    if found is None:
        return None
    view, index = found
    return view.receipts_json(ctx.chain, only=index)[0]


@table.method("eth_getBlockReceipts", Param("block", block_ref))
def block_receipts(ctx: Context, ref) -> list | None:
    view = _view(ctx, ref)
    return None if view is None else view.receipts_json(ctx.chain)


@table.method("eth_getBlockAccessList", Param("block", block_ref))
def block_access_list(ctx: Context, ref) -> Any:
    """EIP-7928 block access lists start with the Amsterdam fork, which no domain block has."""
    header = find_header(ctx.chain, ref)
    if header is None:
        return None
    raise ResourceNotFound(f"block {header.block_number} has no access list: block access lists start "
                           f"with the Amsterdam fork (this block is {ctx.chain.fork_of(header.block_number)})")


# -- node configuration ------------------------------------------------------------------------

@table.method("eth_capabilities")
def capabilities(ctx: Context) -> dict:
    """Everything from genesis is kept: an archive node with nothing pruned."""
    head = ctx.chain.head()
    everything = {"disabled": False, "oldestBlock": fmt.quantity(0)}
    return {
        "head": {"number": fmt.quantity(head.block_number), "hash": fmt.hexbytes(head.hash)},
        **{resource: dict(everything) for resource in ("state", "tx", "logs", "receipts", "blocks", "stateproofs")},
    }


#: Precompile names of EIP-7910, by address.
PRECOMPILE_NAMES = {
    1: "ECREC", 2: "SHA256", 3: "RIPEMD160", 4: "ID", 5: "MODEXP", 6: "BN254_ADD", 7: "BN254_MUL",
    8: "BN254_PAIRING", 9: "BLAKE2F", 0x0A: "KZG_POINT_EVALUATION", 0x0B: "BLS12_G1ADD",
    0x0C: "BLS12_G1MSM", 0x0D: "BLS12_G2ADD", 0x0E: "BLS12_G2MSM", 0x0F: "BLS12_PAIRING_CHECK",
    0x10: "BLS12_MAP_FP_TO_G1", 0x11: "BLS12_MAP_FP2_TO_G2",
    int.from_bytes(X509_PRECOMPILE_ADDRESS, "big"): X509_PRECOMPILE_NAME,
}
#: Blob schedules (EIP-7840) of the forks py-evm runs.
BLOB_SCHEDULES = {
    "cancun": {"baseFeeUpdateFraction": 3_338_477, "max": 6, "target": 3},
    "prague": {"baseFeeUpdateFraction": 5_007_716, "max": 9, "target": 6},
}


@table.method("eth_config")
def config(ctx: Context) -> dict:
    """EIP-7910: the rules in force now. No later fork is scheduled that py-evm can run, so
    `next` and `last` are null. Defined from Cancun on (it needs a blob schedule)."""
    chain = ctx.chain
    head = chain.head()
    fork = chain.fork_of(head.block_number)
    if fork not in BLOB_SCHEDULES:
        raise ServerError(f"eth_config is defined from the Cancun fork on; this chain is at {fork}")
    vm_class = chain.vm_class_at(head.block_number)
    precompiles = vm_class.get_state_class().computation_class._precompiles
    system = {"BEACON_ROOTS_ADDRESS": BEACON_ROOTS_ADDRESS}
    if fork == "prague":
        system.update({
            "HISTORY_STORAGE_ADDRESS": prague.HISTORY_STORAGE_ADDRESS,
            "DEPOSIT_CONTRACT_ADDRESS": prague.DEPOSIT_CONTRACT_ADDRESS,
            "WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS": prague.WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
            "CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS": prague.CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
        })
    current = {
        "activationTime": _activation_time(chain, fork),
        "blobSchedule": BLOB_SCHEDULES[fork],
        "chainId": fmt.quantity(chain.chain_id),
        "forkId": "0x" + fork_hash(chain, head).to_bytes(4, "big").hex(),
        "precompiles": {PRECOMPILE_NAMES.get(int.from_bytes(a, "big"), "0x" + a.hex()): fmt.address(a)
                        for a in sorted(precompiles)},
        "systemContracts": {name: fmt.address(a) for name, a in sorted(system.items())},
    }
    return {"current": current, "next": None, "last": None}


def _activation_time(chain, fork: str) -> int:
    return dict(chain.meta.forks.times).get(fork, 0)


def fork_hash(chain, head) -> int:
    """EIP-2124 / EIP-6122 FORK_HASH: CRC32 of the genesis hash, then of each past fork
    activation (block numbers, then timestamps; zero and repeats skipped)."""
    forks = chain.meta.forks
    genesis = chain.header_by_number(0)
    blocks = sorted({n for name, n in forks.blocks if n > 0 and name in FORK_NAMES})
    times = sorted({t for name, t in forks.times if t > genesis.timestamp and name in FORK_NAMES})
    value = zlib.crc32(genesis.hash)
    for n in blocks:
        if n <= head.block_number:
            value = zlib.crc32(n.to_bytes(8, "big"), value)
    for t in times:
        if t <= head.timestamp:
            value = zlib.crc32(t.to_bytes(8, "big"), value)
    return value
