"""eth_* methods reading account state at a block: balance, code, storage, nonce, proofs.

Every one takes a block (`latest` by default): a tag, a number, a hash or an EIP-1898 object,
and reads the state after that block, so wallets that pin "latest" to a number (MetaMask)
and historical queries both work. `pending` reads the head state, except for
eth_getTransactionCount, which also counts the sender's transactions waiting in the pool.
"""

from __future__ import annotations

from domains.evm import execution
from domains.rpc import formatting as fmt
from domains.rpc.blocks import header_for
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.errors import InvalidParams
from domains.rpc.params import LATEST, ParamError, address, block_ref, json_object, list_of, storage_key

table = MethodTable()

#: The most storage slots one eth_getStorageValues / eth_getProof request may ask for.
MAX_STORAGE_SLOTS = 1024


def _state(ctx: Context, ref):
    return ctx.chain.state_at(header_for(ctx.chain, ref))


@table.method("eth_getBalance", Param("address", address), Param("block", block_ref, default=LATEST))
def get_balance(ctx: Context, account: bytes, ref) -> str:
    return fmt.quantity(_state(ctx, ref).get_balance(account))


@table.method("eth_getCode", Param("address", address), Param("block", block_ref, default=LATEST))
def get_code(ctx: Context, account: bytes, ref) -> str:
    """The account's code (an EIP-7702 delegated account shows its delegation designator)."""
    return fmt.hexbytes(_state(ctx, ref).get_code(account))


@table.method("eth_getStorageAt", Param("address", address), Param("slot", storage_key),
              Param("block", block_ref, default=LATEST))
def get_storage_at(ctx: Context, account: bytes, slot: int, ref) -> str:
    return fmt.word(_state(ctx, ref).get_storage(account, slot))


def storage_requests(value) -> dict[str, tuple[bytes, list[int]]]:
    """Parse eth_getStorageValues' `{address: [slot, ...]}` (a parameter parser)."""
    requests = json_object(value)
    if not requests:
        raise ParamError("empty request")
    parsed = {}
    total = 0
    for key, slots in requests.items():
        try:
            account = address(key)
            keys = list_of(storage_key)(slots)
        except ParamError as exc:
            raise ParamError(f"{key}: {exc}") from None
        total += len(keys)
        if total > MAX_STORAGE_SLOTS:
            raise ParamError(f"too many storage slots: more than {MAX_STORAGE_SLOTS} in one request")
        parsed[key] = (account, keys)
    return parsed


@table.method("eth_getStorageValues", Param("requests", storage_requests), Param("block", block_ref, default=LATEST))
def get_storage_values(ctx: Context, requests, ref) -> dict[str, list[str]]:
    state = _state(ctx, ref)
    return {key: [fmt.word(state.get_storage(account, slot)) for slot in slots]
            for key, (account, slots) in requests.items()}


@table.method("eth_getTransactionCount", Param("address", address), Param("block", block_ref, default=LATEST))
def get_transaction_count(ctx: Context, account: bytes, ref) -> str:
    """The account nonce after the block; for `pending`, the next nonce counting the pool."""
    if ref.tag == "pending":
        return fmt.quantity(ctx.node.next_nonce(account))
    return fmt.quantity(_state(ctx, ref).get_nonce(account))


def proof_key(value) -> str:
    """An eth_getProof storage key, kept as given: the proof echoes it (geth's rule)."""
    if not isinstance(value, str):
        raise ParamError(f"storage key must be a hex string, got {type(value).__name__}")
    return value


@table.method("eth_getProof", Param("address", address),
              Param("storageKeys", list_of(proof_key, max_items=MAX_STORAGE_SLOTS)),
              Param("block", block_ref, default=LATEST))
def get_proof(ctx: Context, account: bytes, keys: list[str], ref) -> dict:
    """EIP-1186 account and storage proofs against the block's state root."""
    header = header_for(ctx.chain, ref)
    try:
        return execution.get_proof(ctx.chain, account, keys, header)
    except execution.InvalidProofRequest as exc:
        raise InvalidParams(f"invalid argument 1 (storageKeys): {exc}") from None
