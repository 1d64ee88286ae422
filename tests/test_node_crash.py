"""kill -9 loop (chain/node/chain_store.py: one durable batch per block): a node subprocess
with its threads running is SIGKILLed at random points, 10 rounds; after each kill, every
block it reported as imported is present, the best block is at least the last reported one,
and the archiver state is consistent with the stored segment headers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from chain.node import ConsensusNode
from chain.params import TEST
from tests.node_support import genesis_config, make_runtime

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 10


def run_until_killed(directory: Path, rng: random.Random) -> list[tuple[int, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.node_crash_worker", str(directory)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    reported: list[tuple[int, str]] = []
    opened = threading.Event()

    def reader():
        for line in proc.stdout:
            parts = line.split()
            if parts and parts[0] == "OPENED":
                opened.set()
            elif parts and parts[0] == "IMPORTED":
                reported.append((int(parts[1]), parts[2]))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        assert opened.wait(60), "worker did not open the node"
        time.sleep(rng.uniform(0.05, 0.6))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        thread.join(10)
    return reported


def test_kill_9_loop_keeps_every_reported_block(tmp_path):
    rng = random.Random(4)
    everything: list[tuple[int, str]] = []
    for round_ in range(ROUNDS):
        reported = run_until_killed(tmp_path, rng)
        everything.extend(reported)
        node = ConsensusNode(tmp_path / "node", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)
        try:
            for number, block_hash in everything:
                assert node.header(bytes.fromhex(block_hash)) is not None, f"round {round_}: block #{number} lost"
            if reported:
                assert node.best_number() >= max(n for n, _ in reported)
            assert node.archiver.segment_index == len(node.segment_headers())
            assert node.archived_to == max(0, node.best_number() - TEST.confirmation_depth_k)
        finally:
            node.close()
    assert len(everything) >= ROUNDS, "the node imported blocks between kills"
