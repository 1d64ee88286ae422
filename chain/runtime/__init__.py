"""The consensus runtime: the state transition of the consensus chain (spec/consensus.md §2,
§7, §8), its pallets, its state trie and its extrinsic format.

* `Runtime(params, extra_pallets=())` (`chain.runtime.executive`): genesis, execute_block,
  build_block, validate_extrinsic, inherent_extrinsics, and queries on a state root.
* `chain.runtime.extrinsics`: the extrinsic encoding, `signed_transfer`, call builders.
* `chain.runtime.state`: the Merkle-Patricia state, storage keys, proofs.
* Pallets: `system`, `timestamp`, `subspace`, `rewards`, `balances`, `sudo`
  (and `pallet`: the protocol that extra pallets, e.g. from `domains/`, implement).
"""

from chain.runtime.errors import (
    BadInherent,
    BadNonce,
    BadSignature,
    CannotPayFees,
    FutureNonce,
    InvalidBlockContext,
    InvalidExtrinsic,
    MalformedExtrinsic,
    MissingInherent,
    StaleNonce,
    UnknownCall,
    UnknownGenesisHash,
)
from chain.runtime.executive import (
    BlockOutcome,
    BuiltBlock,
    ExtrinsicResult,
    GenesisConfig,
    Runtime,
    ValidTransaction,
    verify_balance_proof,
)
from chain.runtime.pallet import BlockContext, Call, DispatchError, Origin, Pallet, Storage
from chain.runtime.state import (
    EMPTY_ROOT,
    InvalidProof,
    PrefixedStore,
    StateError,
    commit_nodes,
    get_proof,
    storage_key,
    verify_proof,
)
from chain.runtime.subspace import SolutionRanges
from chain.runtime.system import Event

__all__ = [
    "Runtime", "GenesisConfig", "BlockOutcome", "BuiltBlock", "ExtrinsicResult", "ValidTransaction",
    "SolutionRanges", "Event", "verify_balance_proof",
    "BlockContext", "Call", "DispatchError", "Origin", "Pallet", "Storage",
    "InvalidExtrinsic", "MalformedExtrinsic", "BadSignature", "BadNonce", "StaleNonce", "FutureNonce",
    "CannotPayFees", "UnknownCall", "BadInherent", "MissingInherent", "UnknownGenesisHash",
    "InvalidBlockContext",
    "EMPTY_ROOT", "InvalidProof", "StateError", "PrefixedStore", "commit_nodes", "get_proof",
    "verify_proof", "storage_key",
]
