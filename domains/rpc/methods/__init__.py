"""The gateway's methods, one module per family; `all_methods()` gathers them.

- `eth_chain`: chain id, head, blocks, transactions, receipts, uncles, client config;
- `eth_state`: balances, code, storage, nonces, proofs at any block;
- `eth_fees`: gas price, priority fee, base fees, fee history;
- `eth_execution`: eth_call, eth_estimateGas, eth_createAccessList;
- `eth_simulate`: eth_simulateV1;
- `eth_transactions`: eth_sendRawTransaction and the dev signer's methods;
- `eth_filters`: eth_getLogs, polling filters, WebSocket subscriptions;
- `debug`: raw RLP getters and tracing; `txpool`: pool inspection;
- `web3`: `web3_*` and `net_*`;
- `consensus`: the consensus chain's `chain_*`, `author_*`, `system_*` and `subspace_*`;
- `autonomys`: `autonomys_registries` (the predeployed registries and the X.509 precompile).
"""

from __future__ import annotations

from domains.rpc.dispatch import Method, MethodTable


def all_methods() -> dict[str, Method]:
    """Every method of the gateway, by name."""
    from domains.rpc.methods import (
        autonomys,
        consensus,
        debug,
        eth_chain,
        eth_execution,
        eth_fees,
        eth_filters,
        eth_simulate,
        eth_state,
        eth_transactions,
        txpool,
        web3,
    )

    modules = (eth_chain, eth_state, eth_fees, eth_execution, eth_simulate, eth_transactions, eth_filters, debug, txpool,
               web3, consensus, autonomys)
    return MethodTable().merge(module.table for module in modules).methods
