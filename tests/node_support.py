"""Shared helpers of the node tests: node construction at TEST params with the real
consensus runtime and a plotted farmer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chain.keys import Ed25519Signer
from chain.params import TEST

from chain.runtime import GenesisConfig, Runtime

ALICE = Ed25519Signer.dev("alice")
BOB = Ed25519Signer.dev("bob")


def make_runtime(params=TEST):
    return Runtime(params)


def genesis_config(params=TEST):
    return GenesisConfig(balances={ALICE.public_key: 10**24, BOB.public_key: 10**24})


FARMER_SIGNER = Ed25519Signer.dev("farmer")
REWARD_ADDRESS = Ed25519Signer.dev("farmer").public_key


@dataclass
class NodeSetup:
    node: object
    farmer: object
    directory: Path


def make_node(directory: Path, params=TEST, *, sectors: int = 2, farm: bool = True, signer=FARMER_SIGNER, **kwargs):
    """A node on `directory/node` with (optionally) a farmer on `directory/farm`, plotted."""
    from chain.farmer import Farmer
    from chain.node import ConsensusNode

    node = ConsensusNode(directory / "node", params, make_runtime(params), signer,
                         genesis_config=genesis_config(params), durable=False, **kwargs)
    farmer = None
    if farm:
        farmer = Farmer(directory / "farm", params, signer, REWARD_ADDRESS, node.piece, sectors,
                        kzg=node.kzg, progress=lambda p: None)
        farmer.start(node.history_size(), node.segment_commitment)
        assert farmer.wait_plotted(120), "farmer did not plot in time"
        node.attach_farmer(farmer)
    return NodeSetup(node, farmer, directory)
