"""The consensus-chain node (spec/consensus.md §8): PoT worker, slot worker and block
production, block import with every check of §8, fork choice, the archiver driver, the
extrinsic pool and persistence.

Modules, in the order of the protocol:

* `pot_worker`: the local PoT chain (`PotChain`) and the thread that extends it;
* `production`: slot claiming and block assembly rules;
* `import_checks`: the import checks, one pure function per rule;
* `fork_choice`: block weights, best-chain switching, tree routes;
* `archiver_driver`: archiving at confirmation depth K, segment headers per block;
* `pool`: the extrinsic pool;
* `chain_store`: the persistent layout (one durable batch per block);
* `runtime_api`: the node's calls into the consensus runtime;
* `node`: `ConsensusNode`, which composes them.
"""

from chain.node.archiver_driver import ForkBelowArchivedHeight
from chain.node.chain_store import ChainStore, CorruptedChainData
from chain.node.import_checks import WrongSolutionRange
from chain.node.node import ConsensusNode, ImportResult, InvalidBlockExtrinsics, SlotInfo, WrongBlockNumber
from chain.node.pot_worker import PotChain, PotSlot, PotWorker

__all__ = [
    "ConsensusNode",
    "ImportResult",
    "SlotInfo",
    "ChainStore",
    "CorruptedChainData",
    "ForkBelowArchivedHeight",
    "InvalidBlockExtrinsics",
    "WrongBlockNumber",
    "WrongSolutionRange",
    "PotChain",
    "PotSlot",
    "PotWorker",
]
