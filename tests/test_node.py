"""The consensus node (chain/node/, spec/consensus.md §2, §4, §6-§8) at TEST params: a chain
produced by one node, archiving and segment headers in blocks, a second node importing it,
one rejection test per import check, fork choice with a reorg, restart and corrupted data.

Time budget is by block count: every run is a fixed number of slots/blocks."""

from __future__ import annotations

import dataclasses
import re

import pytest

from chain import pot
from chain.archiving import LastArchivedBlock, SegmentHeader, is_piece_valid
from chain.block import (
    Block,
    FutureSlot,
    InvalidPotJustification,
    InvalidPotSeed,
    InvalidSeal,
    InvalidSolutionForSlot,
    PotCheckpointsJustification,
    PotParametersChange,
    SegmentCommitment,
    Seal,
    SignedBlock,
    SolutionOutOfRange,
    UnknownParent,
    WrongSegmentHeaders,
    WrongStateRoot,
    seal_header,
)
from chain.keys import Ed25519Signer
from chain.node import ConsensusNode, CorruptedChainData, PotChain
from chain.node.pot_worker import PotParameters
from chain.params import TEST, U64_MAX
from chain.runtime.extrinsics import signed_transfer
from tests.node_support import ALICE, BOB, FARMER_SIGNER, genesis_config, make_node, make_runtime

CHAIN_LENGTH = 32


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("node")


@pytest.fixture(scope="module")
def chain_a(workdir):
    """Node A with a farmer, after producing CHAIN_LENGTH blocks."""
    setup = make_node(workdir / "a")
    blocks = setup.node.produce_blocks(CHAIN_LENGTH)
    assert len(blocks) == CHAIN_LENGTH
    yield setup, blocks
    setup.farmer.stop()
    setup.node.close()


def reseal(signed: SignedBlock, signer=FARMER_SIGNER, **header_changes) -> SignedBlock:
    header = signed.header.without_seal().with_(**header_changes)
    return SignedBlock(Block(seal_header(header, signer), signed.block.extrinsics), signed.justification)


def next_block(node: ConsensusNode, **kwargs) -> tuple[int, SignedBlock]:
    """A block for the next claimable slot on the best block, built but not imported."""
    for _ in range(50):
        node.pot.prove_next()
        slot = node.pot.current_slot - TEST.block_authoring_delay
        block = node.produce_block(slot, import_block=False, **kwargs)
        if block is not None:
            return slot, block
    raise AssertionError("no block could be built in 50 slots")


# --- PoT chain ----------------------------------------------------------------------------


def test_pot_chain_proves_from_genesis_seed_and_follows_changes():
    genesis = pot.genesis_slot_input(b"\1" * 32, b"", 512)
    chain = PotChain(genesis, PotParameters(512))
    chain.advance_to(6)
    first = chain.get(1)
    assert first.seed == genesis.seed and pot.verify(first.seed, 512, first.checkpoints)
    assert chain.get(2).seed == first.output
    # a parameter change at slot 4 makes slots 4.. wrong: they are re-proven with the entropy
    change = pot.PotParametersChange(slot=4, slot_iterations=1024, entropy=b"\7" * 32)
    assert chain.follow_best_block(PotParameters(512, change), 2, ())
    assert chain.current_slot == 3
    chain.advance_to(5)
    assert chain.get(4).seed == pot.seed_with_entropy(chain.get(3).output, b"\7" * 32)
    assert chain.get(4).slot_iterations == chain.get(5).slot_iterations == 1024
    # the same parameters again change nothing
    assert not chain.follow_best_block(PotParameters(512, change), 2, ())


# --- one node produces a chain ------------------------------------------------------------


def test_node_produces_a_chain(chain_a):
    setup, blocks = chain_a
    node = setup.node
    assert node.best_number() == CHAIN_LENGTH
    assert [b.hash() for b in blocks] == [node.canonical_hash(n) for n in range(1, CHAIN_LENGTH + 1)]
    slots = [b.header.pre_digest(TEST).slot for b in blocks]
    assert slots == sorted(set(slots))
    # the entropy injection of block 5 is announced from block 15 on (spec §2), and the PoT
    # chain the later blocks prove follows it
    changes = [log for b in blocks[14:19] for log in b.header.consensus_logs() if isinstance(log, PotParametersChange)]
    assert changes, "blocks 15..19 announce the PoT parameter change"
    target = changes[0].slot
    assert node.pot.get(target) is None or node.pot.get(target).seed == pot.seed_with_entropy(
        node.pot.get(target - 1).output, changes[0].entropy
    )


def test_segment_headers_land_in_the_right_blocks(chain_a):
    setup, blocks = chain_a
    node = setup.node
    k = TEST.confirmation_depth_k
    headers = node.segment_headers()
    assert len(headers) >= 4, "archiving at TEST sizes makes a segment every few blocks"
    assert node.archived_to == CHAIN_LENGTH - k
    carried = {}
    for b in blocks:
        for log in b.header.consensus_logs():
            if isinstance(log, SegmentCommitment):
                carried[log.segment_index] = (b.number, log.segment_commitment)
    assert carried[0] == (1, headers[0].segment_commitment)
    for h in headers[1:]:
        target = h.last_archived_block.number + 1 + k
        if target <= CHAIN_LENGTH:
            assert carried[h.segment_index] == (target, h.segment_commitment)
    assert node.history_size() == len(carried)
    assert node.last_segment_headers(2) == headers[-2:]


def test_pieces_verify_against_segment_commitments(chain_a):
    node = chain_a[0].node
    for header in node.segment_headers():
        for position in range(TEST.num_pieces):
            piece = node.piece(header.segment_index * TEST.num_pieces + position)
            assert is_piece_valid(node.kzg, piece, header.segment_commitment, position, TEST)
    assert node.piece(len(node.segment_headers()) * TEST.num_pieces) is None


def test_pool_extrinsics_are_included(chain_a, workdir):
    setup, _ = chain_a
    node = setup.node
    genesis = node.genesis_hash
    nonce = node.runtime.nonce(node.trie_db(), node.state_root(), ALICE.public_key)
    txs = [signed_transfer(ALICE, BOB.public_key, 10**18, nonce + i, genesis) for i in range(3)]
    for tx in reversed(txs):
        node.submit_extrinsic(tx)
    assert len(node.pool) == 3
    block = node.produce_blocks(1)[0]
    assert list(block.block.extrinsics[-3:]) == txs  # ordered by (signer, nonce)
    assert len(node.pool) == 0
    assert node.runtime.nonce(node.trie_db(), node.state_root(), ALICE.public_key) == nonce + 3


# --- a second node imports the chain ------------------------------------------------------


@pytest.fixture(scope="module")
def node_b(chain_a, workdir):
    """Node B (no farmer) after importing A's canonical chain."""
    setup_a, _ = chain_a
    b = ConsensusNode(workdir / "b", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)
    assert b.genesis_hash == setup_a.node.genesis_hash
    for n in range(1, setup_a.node.best_number() + 1):
        block = setup_a.node.block(n)
        # the importer runs its own PoT chain up to the block's slot (spec §8 future-slot limit):
        # A's chain has a gap of more than 10 slots when a sector was being replotted
        b.pot.advance_to(block.header.pre_digest(TEST).slot)
        result = b.import_block(block)
        assert result.is_new_best
    yield b
    b.close()


def test_second_node_reaches_the_same_state(chain_a, node_b):
    a = chain_a[0].node
    assert node_b.best_hash == a.best_hash
    for n in range(0, a.best_number() + 1):
        assert node_b.header(node_b.canonical_hash(n)).state_root == a.header(a.canonical_hash(n)).state_root
    assert node_b.segment_headers() == a.segment_headers()
    assert node_b.archiver.to_bytes() == a.archiver.to_bytes()
    assert node_b.import_block(a.block(3)).already_known


# --- rejections: one per check ------------------------------------------------------------


@pytest.fixture()
def fresh(chain_a, tmp_path):
    """A node with a farmer that shares A's genesis, and builds blocks on its own best."""
    setup = make_node(tmp_path)
    yield setup
    setup.farmer.stop()
    setup.node.close()


def test_valid_block_is_accepted(fresh):
    _, block = next_block(fresh.node)
    assert fresh.node.import_block(block).is_new_best


def test_tampered_pot_checkpoint_is_rejected(fresh):
    _, block = next_block(fresh.node)
    j = block.justification
    first = list(j.checkpoints[0])
    first[3] = bytes(16)
    bad = SignedBlock(block.block, PotCheckpointsJustification(j.seed, (tuple(first), *j.checkpoints[1:])))
    with pytest.raises(InvalidPotJustification, match="checkpoints of slot") as err:
        fresh.node.import_block(bad)
    assert type(err.value) is InvalidPotJustification


def test_wrong_pot_seed_is_rejected(fresh):
    _, block = next_block(fresh.node)
    bad = SignedBlock(block.block, dataclasses.replace(block.justification, seed=b"\x55" * 16))
    with pytest.raises(InvalidPotSeed, match="justification seed"):
        fresh.node.import_block(bad)


def test_solution_for_another_slot_is_rejected(fresh):
    node = fresh.node
    slot, good = next_block(node)
    ranges = node.solution_ranges()
    for other in range(slot + 1, slot + 30):
        node.pot.advance_to(other)
        found = fresh.farmer.solve(other, node.pot.get(other).output, ranges.block_range, U64_MAX,
                                   node.history_size(), node.segment_commitment)
        if found and found[0][1] != good.header.pre_digest(TEST).solution:
            break
    bad = node.produce_block(slot, solution=found[0][1], import_block=False)
    with pytest.raises(InvalidSolutionForSlot, match=f"slot {slot}") as err:
        node.import_block(bad)
    assert type(err.value) is InvalidSolutionForSlot


def test_solution_out_of_range_is_rejected(fresh):
    node = fresh.node
    for _ in range(50):
        node.pot.prove_next()
        slot = node.pot.current_slot - TEST.block_authoring_delay
        if slot < 1:
            continue
        block_range = node.solution_ranges().block_range
        found = fresh.farmer.solve(slot, node.pot.get(slot).output, block_range, U64_MAX,
                                   node.history_size(), node.segment_commitment)
        outside = [s for d, s in found if d > block_range // 2]
        if outside:
            break
    bad = node.produce_block(slot, solution=outside[0], import_block=False)
    with pytest.raises(SolutionOutOfRange):
        node.import_block(bad)


def test_bad_signature_is_rejected(fresh):
    _, block = next_block(fresh.node)
    wrong = reseal(block, signer=Ed25519Signer.dev("mallory"))
    with pytest.raises(InvalidSeal):
        fresh.node.import_block(wrong)
    garbage = block.header.with_digest((*block.header.digest[:-1], Seal(b"SUB_", b"\1" * 64)))
    with pytest.raises(InvalidSeal):
        fresh.node.import_block(SignedBlock(Block(garbage, block.block.extrinsics), block.justification))


def test_missing_segment_header_is_rejected(fresh):
    # block 1 must carry segment 0 (spec §8)
    _, block = next_block(fresh.node, segment_headers=[])
    with pytest.raises(WrongSegmentHeaders, match="missing \\[0\\]"):
        fresh.node.import_block(block)


def test_extra_segment_header_is_rejected(fresh):
    node = fresh.node
    node.import_block(next_block(node)[1])  # block 1 (carries segment 0)
    # block 2 carries none; a made-up segment 1 (the runtime only checks the order)
    made_up = SegmentHeader(1, b"\1" * 48, node.segment_headers()[0].hash(), LastArchivedBlock(1, None))
    _, block = next_block(node, segment_headers=[made_up])
    with pytest.raises(WrongSegmentHeaders, match="extra or wrong \\[1\\]"):
        node.import_block(block)


def test_slot_in_the_future_is_rejected(fresh, tmp_path):
    producer = fresh.node
    importer = ConsensusNode(tmp_path / "importer", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)
    try:
        producer.pot.advance_to(importer.pot.current_slot + TEST.pot_max_slots_in_the_future + 5)
        _, block = next_block(producer)
        with pytest.raises(FutureSlot):
            importer.import_block(block)
        importer.pot.advance_to(block.header.pre_digest(TEST).slot)  # once the importer's PoT is there
        assert importer.import_block(block).is_new_best
    finally:
        importer.close()


def test_wrong_state_root_is_rejected(fresh):
    _, block = next_block(fresh.node)
    bad = reseal(block, state_root=b"\x42" * 32)
    with pytest.raises(WrongStateRoot):
        fresh.node.import_block(bad)


def test_unknown_parent_is_rejected(fresh):
    _, block = next_block(fresh.node)
    with pytest.raises(UnknownParent):
        fresh.node.import_block(reseal(block, parent_hash=b"\x11" * 32))


# --- fork choice --------------------------------------------------------------------------


def test_heavier_branch_wins_and_state_follows(tmp_path):
    prefix = make_node(tmp_path / "a")
    other = make_node(tmp_path / "b", signer=Ed25519Signer.dev("farmer2"))
    judge = ConsensusNode(tmp_path / "c", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)
    try:
        a, b = prefix.node, other.node
        common = a.produce_blocks(8)
        for block in common:
            b.import_block(block)
            judge.import_block(block)
        branch_a = a.produce_blocks(2)
        b.pot.advance_to(a.pot.current_slot)  # B proves the same slots, then extends its own branch
        branch_b = b.produce_blocks(4)
        assert branch_a[0].header.parent_hash == branch_b[0].header.parent_hash == common[-1].hash()
        for block in branch_a:
            assert judge.import_block(block).is_new_best
        results = [judge.import_block(block) for block in branch_b]
        # equal weights per block: B's 2nd block only ties (ties keep the first seen), its 3rd wins
        assert [r.is_new_best for r in results] == [False, False, True, True]
        assert results[2].reorg
        assert judge.best_hash == b.best_hash
        assert judge.state_root() == b.state_root()
        for n in range(1, judge.best_number() + 1):
            assert judge.canonical_hash(n) == b.canonical_hash(n)
        assert judge.total_weight(judge.best_hash) > judge.total_weight(branch_a[-1].hash())
    finally:
        for s in (prefix, other):
            s.farmer.stop()
            s.node.close()
        judge.close()


# --- restart and corruption ---------------------------------------------------------------


def test_restart_resumes_at_the_same_best_block(tmp_path):
    setup = make_node(tmp_path)
    node = setup.node
    node.produce_blocks(12)
    best, archiver, headers = node.best_hash, node.archiver.to_bytes(), node.segment_headers()
    node.close()
    reopened = ConsensusNode(tmp_path / "node", TEST, make_runtime(), FARMER_SIGNER, genesis_config=genesis_config(), durable=False)
    try:
        assert reopened.best_hash == best
        assert reopened.archiver.to_bytes() == archiver
        assert reopened.segment_headers() == headers
        assert reopened.pot.current_slot == reopened.best_header().pre_digest(TEST).slot + TEST.block_authoring_delay
        reopened.attach_farmer(setup.farmer)
        more = reopened.produce_blocks(3)
        assert more[0].header.parent_hash == best
    finally:
        setup.farmer.stop()
        reopened.close()


def test_corrupted_block_is_a_typed_error(tmp_path):
    setup = make_node(tmp_path)
    setup.node.produce_blocks(2)
    best = setup.node.best_hash
    setup.farmer.stop()
    setup.node.close()
    from chain.store import KVStore

    with KVStore(tmp_path / "node" / "chain", durable=False) as kv:
        kv.put(b"blk:" + best, b"\xff garbage")
    with pytest.raises(CorruptedChainData, match="blk:"):
        ConsensusNode(tmp_path / "node", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)


def test_a_damaged_piece_is_named_when_served(chain_a):
    """A stored piece is verified against its segment commitment before the farmer (or the
    RPC) gets it; a damaged one names its key instead of being plotted."""
    from chain.node.chain_store import piece_key

    setup, _ = chain_a
    node = setup.node
    good = node.piece(3)
    damaged = bytearray(good)
    damaged[100] ^= 0x01
    node.store.kv.put(piece_key(3), bytes(damaged))
    try:
        with pytest.raises(CorruptedChainData, match=re.escape(f"key {piece_key(3)!r}: piece 3 does not verify")):
            node.piece(3)
    finally:
        node.store.kv.put(piece_key(3), good)
    assert node.piece(3) == good


@pytest.mark.parametrize("damage", ["archiver state", "segment header", "state trie node"])
def test_damaged_values_are_named_not_used(tmp_path, damage):
    """LMDB keeps no checksums; a byte flipped in a value that still decodes was used: a wrong
    archiver buffer or prev hash forked the segment chain, a bad segment header failed every
    later block, a bad trie node gave wrong state. Each is refused by name at the read."""
    from chain.node.chain_store import KEY_ARCHIVER, PREFIX_SEGMENT, PREFIX_TRIE
    from chain.store import KVStore

    setup = make_node(tmp_path)
    setup.node.produce_blocks(12)
    state_root = setup.node.best_header().state_root
    assert len(setup.node.segment_headers()) >= 2
    setup.farmer.stop()
    setup.node.close()
    key = {"archiver state": KEY_ARCHIVER, "segment header": PREFIX_SEGMENT + (0).to_bytes(8, "big"),
           "state trie node": PREFIX_TRIE + state_root}[damage]
    with KVStore(tmp_path / "node" / "chain", durable=False) as kv:
        value = bytearray(kv.get(key))
        value[20] ^= 0x01  # inside the archiver's prev hash / the commitment / a node's contents
        kv.put(key, bytes(value))
    words = {"archiver state": "does not match its checksum", "segment header": "segment headers do not chain \\(header 1 names",
             "state trie node": "state trie node does not hash to its key"}[damage]
    with pytest.raises(CorruptedChainData, match=words):
        node = ConsensusNode(tmp_path / "node", TEST, make_runtime(), None, genesis_config=genesis_config(), durable=False)
        try:
            make_runtime().nonce(node.trie_db(), node.state_root(), FARMER_SIGNER.public_key)  # state is read lazily
        finally:
            node.close()


# --- threads ------------------------------------------------------------------------------


def test_threads_produce_blocks_and_stop(tmp_path):
    import threading

    setup = make_node(tmp_path, slot_interval=0.005)
    node = setup.node
    got = threading.Event()
    imported, slots = [], []
    node.on_slot(lambda info: slots.append(info.slot))

    def on_block(block, is_new_best):
        imported.append(block.number)
        if len(imported) >= 5:
            got.set()

    node.on_block_imported(on_block)
    node.start()
    try:
        assert got.wait(60), "5 blocks in 60 s"
    finally:
        node.stop()
        setup.farmer.stop()
    assert slots == sorted(slots) and node.best_number() >= 5
    node.close()


# --- one run with real PoAS at DEV params ---------------------------------------------------


def test_dev_params_real_poas(tmp_path):
    from chain.params import DEV

    setup = make_node(tmp_path / "a", DEV, sectors=1)
    # a wide future window instead of a PoT catch-up, so the importer verifies every checkpoint
    wide = DEV.with_(pot_max_slots_in_the_future=10_000)
    importer = ConsensusNode(tmp_path / "b", wide, make_runtime(wide), None, genesis_config=genesis_config(wide), durable=False)
    try:
        blocks = setup.node.produce_blocks(3, max_slots=120)
        assert len(blocks) == 3
        for block in blocks:
            assert importer.import_block(block).is_new_best
        assert importer.state_root() == setup.node.state_root()
    finally:
        setup.farmer.stop()
        setup.node.close()
        importer.close()


def test_fork_below_the_archived_height_is_rejected(chain_a):
    from chain.node import ForkBelowArchivedHeight

    node = chain_a[0].node
    deep_parent = node.canonical_hash(node.archived_to - 1)
    _, block = next_block(node, parent_hash=deep_parent)
    with pytest.raises(ForkBelowArchivedHeight, match="archived height"):
        node.import_block(block)
