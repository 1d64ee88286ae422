"""Subprocess of the kill -9 test (tests/test_node_crash.py): runs a TEST node with its
threads on a directory and prints `IMPORTED <number> <hash hex>` for every imported block
after it is committed. Not a test module itself (no tests)."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(directory: str) -> None:
    from chain.farmer import Farmer
    from chain.node import ConsensusNode
    from chain.params import TEST
    from tests.node_support import FARMER_SIGNER, REWARD_ADDRESS, genesis_config, make_runtime

    base = Path(directory)
    node = ConsensusNode(base / "node", TEST, make_runtime(), FARMER_SIGNER, genesis_config=genesis_config(),
                         durable=True, slot_interval=0.01)
    farmer = Farmer(base / "farm", TEST, FARMER_SIGNER, REWARD_ADDRESS, node.piece, 2, kzg=node.kzg,
                    progress=lambda p: None)
    farmer.start(node.history_size(), node.segment_commitment)
    farmer.wait_plotted(60)
    node.attach_farmer(farmer)
    print(f"OPENED {node.best_number()} {node.best_hash.hex()}", flush=True)
    node.on_block_imported(lambda block, best: print(f"IMPORTED {block.number} {block.hash().hex()}", flush=True))
    node.start()
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
