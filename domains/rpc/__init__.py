"""The Ethereum JSON-RPC gateway of an EVM domain (HTTP and WebSocket on one port).

Modules, from the socket inwards:
- `server`: FastAPI app and uvicorn (`build_app`, `serve`), HTTP and WebSocket transport,
  CORS, size limits, the worker thread pool;
- `dispatch`: JSON-RPC 2.0 requests, batches and notifications, parameter binding, errors;
- `errors`, `params`: error types with their codes; parameter parsers (quantities, data,
  addresses, block tags / numbers / hashes / EIP-1898 objects);
- `context`: the gateway's shared state and the per-request context handlers receive;
- `methods/`: the methods, one module per family (eth chain data, state, fees, execution,
  transactions, logs and filters, debug, txpool, web3/net);
- `formatting`: the JSON shapes of blocks, transactions, receipts and logs (geth's);
- `blocks`, `logs`, `filters`, `subscriptions`, `fees`, `signer`: the logic behind them;
- `testing`: a live server on a free port, for tests and tools.
"""
