"""The Subspace consensus chain (see ../ARCHITECTURE.md for the layers).

Keccak-256, which py-evm, trie, eth-keys and eth-account all compute through `eth-hash`, uses
the `pysha3` backend (the C extension of the `safe-pysha3` package): about 3x faster per hash
than eth-hash's default pycryptodome backend, whose per-call set-up dominated the short
inputs of trie nodes, addresses and signing payloads (measured: 7.3 vs 2.7 us per
`eth_utils.keccak` of 64 bytes). eth-hash picks its backend at the first hash from
`ETH_HASH_BACKEND`; a value already set by the user wins.
"""

import os

os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
