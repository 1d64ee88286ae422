"""web3_* and net_* methods: client version, Keccak-256, network id and peer status."""

from __future__ import annotations

from eth_hash.auto import keccak

from domains.rpc import formatting as fmt
from domains.rpc.context import Context
from domains.rpc.dispatch import MethodTable, Param
from domains.rpc.params import data

table = MethodTable()


@table.method("web3_clientVersion")
def client_version(ctx: Context) -> str:
    return ctx.config.client_version


@table.method("web3_sha3", Param("data", data))
def sha3(ctx: Context, value: bytes) -> str:
    """Keccak-256 (not SHA3-256) of the bytes."""
    return fmt.hexbytes(keccak(value))


@table.method("net_version")
def net_version(ctx: Context) -> str:
    """The network id: the chain id as a decimal string."""
    return str(ctx.chain.chain_id)


@table.method("net_listening")
def net_listening(ctx: Context) -> bool:
    return True


@table.method("net_peerCount")
def net_peer_count(ctx: Context) -> str:
    """A domain's gateway has no Ethereum peers."""
    return fmt.quantity(0)
