"""Farming (spec/consensus.md §5, §6): identifiers and piece selection against the C2 vectors,
the audit kernel (native vs numpy), the sector format, and a DEV-preset sector plotted from
pieces made by the real archiver, read back, audited and proven."""

from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from blake3 import blake3

from chain import farming
from chain.farming import audit as audit_mod
from chain.farming.identifiers import (
    derive_expiration_history_size,
    evaluation_seed,
    is_sector_expired,
    piece_index,
    public_key_hash,
    sector_id,
)
from chain.farming.layout import (
    CorruptedSector,
    CorruptedSectorMetadata,
    SectorContentsMap,
    SectorError,
    SectorMetadata,
    TruncatedSector,
    metadata_path,
    read_sector_metadata,
    sector_size,
)
from chain.farming.solution import InvalidSolutionEncoding, Solution, solution_size
from chain.params import DEV, MAINNET, TEST, U64_MAX

VECTORS = Path(__file__).parent / "data" / "vectors" / "consensus_vectors.txt"


def vector(pattern: str) -> str:
    """The value (last token after '=') of the first vector line matching `pattern`."""
    for line in VECTORS.read_text().splitlines():
        if re.search(pattern, line):
            return line.rsplit("=", 1)[1].strip()
    raise KeyError(pattern)


PK = bytes.fromhex(vector(r"^public_key ="))


# --- C2 vectors -----------------------------------------------------------------------------


def test_public_key_hash_vector():
    assert public_key_hash(PK).hex() == vector(r"^public_key_hash")


@pytest.mark.parametrize("history_size", [1, 60])
def test_sector_id_piece_indices_and_seed_vectors(history_size):
    sid = sector_id(public_key_hash(PK), 7, history_size)
    assert sid.hex() == vector(rf"^sector_id\(pk, sector_index=7, history_size={history_size}\)")
    lines = VECTORS.read_text().split(f"history_size={history_size}) =", 1)[1].splitlines()
    expected = [int(x) for x in re.search(r"\[(.*)\]", lines[1]).group(1).split(",")]
    assert [farming.piece_index(sid, o, history_size, MAINNET) for o in range(5)] == expected
    assert evaluation_seed(sid, 3).hex() == lines[2].rsplit("=", 1)[1].strip()


def test_recent_history_window_at_hs60():
    """Offsets 1 and 3 fall in the recent window [14080, 15360) (spec §11.5)."""
    sid = sector_id(public_key_hash(PK), 7, 60)
    for offset in (1, 3):
        assert 14080 <= piece_index(sid, offset, 60, MAINNET) < 15360


def test_challenge_and_audit_vectors():
    from chain import pot

    output = pot.prove(b"\0" * 16, 1024)[-1]
    assert output.hex() == vector(r"^pot output")
    challenge = farming.global_challenge(output, 42)
    assert challenge.hex() == vector(r"^global_challenge\(slot=42\)")
    sid = sector_id(public_key_hash(PK), 7, 60)
    ssc = farming.sector_slot_challenge(sid, challenge)
    assert ssc.hex() == vector(r"^sector_slot_challenge")
    assert farming.s_bucket_audit_index(ssc, MAINNET) == int(vector(r"^s_bucket_audit_index"))
    assert farming.s_bucket_audit_index(ssc, MAINNET) == int.from_bytes(ssc[:2], "little")
    distance = farming.calculate_solution_distance(challenge, b"\x5a" * 32, ssc)
    assert distance == int(vector(r"distance = \d+$"))
    assert farming.is_within_solution_range(challenge, b"\x5a" * 32, ssc, MAINNET.initial_solution_range) is None
    for backend in backends():
        assert int(farming.audit_distances(ssc, b"\x5a" * 32, challenge, backend)[0]) == distance


def test_expiration_vector():
    sid = sector_id(public_key_hash(PK), 7, 60)
    expires = derive_expiration_history_size(sid, 60, b"\x11" * 48, 4)
    assert expires == int(vector(r"^expiration_history_size"))
    assert not is_sector_expired(expires, expires - 1)
    assert is_sector_expired(expires, expires)


# --- Audit kernel ---------------------------------------------------------------------------


def backends() -> list[str]:
    return ["native", "numpy"] if audit_mod._native is not None else ["numpy"]


def test_native_audit_kernel_is_built():
    assert farming.BACKEND == "native", "build chain._audit_native (make setup / pip install -e .)"


def test_audit_backends_agree_with_blake3():
    rng = np.random.default_rng(1)
    chunks = rng.integers(0, 256, size=(5000, 32), dtype=np.uint8)
    chunks[0] = 0
    chunks[1] = 0xFF
    data = chunks.tobytes()
    for trial in range(3):
        ssc = bytes(rng.integers(0, 256, 32, dtype=np.uint8))
        challenge = bytes(rng.integers(0, 256, 32, dtype=np.uint8))
        results = {b: farming.audit_distances(ssc, data, challenge, b) for b in ("native", "numpy") if b in backends()}
        for b, d in results.items():
            assert d.dtype == np.uint64 and len(d) == 5000
            for i in (0, 1, 2, 4999):
                assert int(d[i]) == farming.calculate_solution_distance(challenge, data[32 * i : 32 * i + 32], ssc)
        if len(results) == 2:
            assert np.array_equal(results["native"], results["numpy"])
        solution_range = U64_MAX // 50
        found = {b: farming.audit_chunks(ssc, data, challenge, solution_range, b) for b in backends()}
        ref = sorted(
            ((i, int(x)) for i, x in enumerate(results["numpy"]) if int(x) <= solution_range // 2),
            key=lambda c: (c[1], c[0]),
        )
        assert all(v == ref for v in found.values()) and ref


def test_audit_rejects_bad_inputs():
    for backend in backends():
        with pytest.raises(ValueError):
            farming.audit_distances(b"\0" * 31, b"\0" * 32, b"\0" * 32, backend)
        with pytest.raises(ValueError):
            farming.audit_distances(b"\0" * 32, b"\0" * 33, b"\0" * 32, backend)
    assert len(farming.audit_distances(b"\0" * 32, b"", b"\0" * 32)) == 0


# --- Sector format --------------------------------------------------------------------------


def test_contents_map_lsb0_unencoded_fill_and_checksum():
    params = TEST  # 32 chunks, 64 s-buckets
    encoded = np.zeros((2, params.num_s_buckets), dtype=bool)
    encoded[0, [0, 3, 9]] = True  # 3 encoded: 29 unencoded taken from the first unset s-buckets
    encoded[1, ::2] = True  # all 32 encoded
    cmap = SectorContentsMap(encoded, params.num_chunks)
    data = cmap.encode()
    assert len(data) == 2 * 8 + 32
    assert data[0] == 0b00001001 and data[1] == 0b00000010  # Lsb0: s-bucket i = bit i & 7 of byte i >> 3
    assert data[-32:] == blake3(data[:-32]).digest()
    present = cmap.present()
    assert present.sum(axis=1).tolist() == [32, 32]
    # record 0: encoded {0,3,9}; unencoded = first 29 unset s-buckets = {1,2,4..8,10..31}
    assert np.nonzero(present[0])[0].tolist() == list(range(32))
    assert cmap.s_bucket_sizes().sum() == 64
    back = SectorContentsMap.decode(data, 2, params)
    assert np.array_equal(back.encoded, encoded)
    bad = bytearray(data)
    bad[5] ^= 1
    with pytest.raises(CorruptedSector, match="checksum"):
        SectorContentsMap.decode(bytes(bad), 2, params, "x.plot")


def test_sector_metadata_roundtrip_and_checksum(tmp_path):
    sizes = np.zeros(DEV.num_s_buckets, dtype=np.uint16)
    sizes[: DEV.num_chunks * 2 // 2] = 2  # 2 pieces -> 2 * 256 chunks
    meta = SectorMetadata(3, 2, sizes, 9)
    data = meta.encode()
    assert len(data) == 2 + 2 + 2 * DEV.num_s_buckets + 8 + 32
    assert SectorMetadata.decode(data, DEV) == meta
    path = tmp_path / "s.plot"
    bad = bytearray(data)
    bad[10] ^= 1
    Path(metadata_path(path)).write_bytes(bytes(bad))
    with pytest.raises(CorruptedSectorMetadata, match=r"s\.plot\.meta.*checksum"):
        read_sector_metadata(path, DEV)
    Path(metadata_path(path)).write_bytes(data[:-1])
    with pytest.raises(CorruptedSectorMetadata, match=r"s\.plot\.meta"):
        read_sector_metadata(path, DEV)


def test_mainnet_sector_size():
    assert sector_size(1000, MAINNET) == 1_056_896_064  # spec §5 "Sector layout"


def test_solution_encoding():
    s = Solution(b"\1" * 32, b"\2" * 32, 7, 60, 3, b"\3" * 48, b"\4" * 48, b"\5" * 32, b"\6" * 48, b"\7" * 160)
    data = s.encode()
    assert len(data) == solution_size(MAINNET) == 412
    assert data[64:66] == (7).to_bytes(2, "little") and data[66:74] == (60).to_bytes(8, "little")
    assert Solution.decode(data, MAINNET) == s
    for wrong in (data[:-1], data + b"\0"):
        with pytest.raises(InvalidSolutionEncoding):
            Solution.decode(wrong, MAINNET)
    zero_history = data[:66] + bytes(8) + data[74:]
    with pytest.raises(InvalidSolutionEncoding):
        Solution.decode(zero_history, MAINNET)
    with pytest.raises(InvalidSolutionEncoding):
        s.with_(chunk=b"\0" * 31)


# --- A DEV sector plotted from real archived history ---------------------------------------


@dataclass
class DevFarm:
    params: object
    kzg: object
    public_key: bytes
    reward_address: bytes
    pieces: dict[int, bytes]
    segment_commitments: dict[int, bytes]
    history_size: int
    sector_path: Path
    plotted: object
    metadata: SectorMetadata


def archived_pieces(params, kzg, num_segments: int) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """(piece index -> piece, segment index -> commitment) of `num_segments` segments of random
    history, archived by chain.archiving; without it, pieces are built here with KZG directly
    (random records, record commitments, segment commitment over blake3_254 of them)."""
    rng = np.random.default_rng(7)
    pieces, commitments = {}, {}
    try:
        from chain import archiving
    except ImportError:
        archiving = None
    if archiving is not None:
        archiver = archiving.Archiver(params, kzg)
        segments = []
        while len(segments) < num_segments:
            block = rng.integers(0, 256, params.segment_size // 3, dtype=np.uint8).tobytes()
            segments.extend(archiver.add_block(block))
        for seg in segments[:num_segments]:
            header = seg.segment_header
            commitments[header.segment_index] = header.segment_commitment
            for position, piece in enumerate(seg.pieces):
                pieces[header.segment_index * params.num_pieces + position] = bytes(piece)
        return pieces, commitments
    from chain.kzg import blake3_254_hash_to_scalar

    for segment_index in range(num_segments):
        records = []
        for _ in range(params.num_pieces):
            chunks = rng.integers(0, 256, (params.num_chunks, 32), dtype=np.uint8)
            chunks[:, 0] = 0  # canonical scalars
            records.append(chunks.tobytes())
        record_commitments = [kzg.commit(kzg.poly(r)) for r in records]
        hashes = b"".join(blake3_254_hash_to_scalar(c) for c in record_commitments)
        segment_poly = kzg.poly(hashes)
        commitments[segment_index] = kzg.commit(segment_poly)
        for position, (record, c) in enumerate(zip(records, record_commitments)):
            witness = kzg.create_witness(segment_poly, params.num_pieces, position)
            pieces[segment_index * params.num_pieces + position] = record + c + witness
    return pieces, commitments


@functools.lru_cache(maxsize=None)
def dev_farm() -> DevFarm:
    """One DEV sector (K=16 PoS, real KZG), plotted once per test session from the pieces of
    three segments archived by the real archiver."""
    from chain import kzg as kzg_mod
    from chain.farming.plotting import plot_sector_to_file

    params = DEV
    kzg = kzg_mod.Kzg.default()
    pieces, commitments = archived_pieces(params, kzg, num_segments=3)
    history_size = len(commitments)
    workdir = Path(tempfile.mkdtemp(prefix="farming-test-"))
    atexit.register(shutil.rmtree, workdir, True)
    public_key = blake3(b"farmer").digest()
    path = workdir / "sector-0.plot"
    plotted = plot_sector_to_file(
        path, public_key_hash(public_key), 0, history_size, params.max_pieces_in_sector, pieces.__getitem__, params
    )
    return DevFarm(
        params, kzg, public_key, b"\x42" * 32, pieces, commitments, history_size, path, plotted,
        read_sector_metadata(path, params),
    )


@pytest.fixture(scope="module")
def farm() -> DevFarm:
    for module in ("chain.pos", "chain.kzg", "chain.erasure"):
        pytest.importorskip(module)
    return dev_farm()


def test_dev_sector_layout(farm):
    p = farm.params
    assert farm.sector_path.stat().st_size == sector_size(p.max_pieces_in_sector, p)
    assert farm.metadata == farm.plotted.metadata
    assert int(farm.metadata.s_bucket_sizes.sum()) == p.max_pieces_in_sector * p.num_chunks
    farming.verify_sector_checksum(farm.sector_path, farm.metadata, p)
    cmap = farming.read_contents_map(farm.sector_path, farm.metadata, p)
    # K=16 gives proofs for ~57% of s-buckets: most records are fully encoded
    assert cmap.num_encoded_record_chunks().min() > p.num_chunks // 2
    assert farm.plotted.piece_indices == [
        piece_index(farm.plotted.sector_id, o, farm.history_size, p) for o in range(p.max_pieces_in_sector)
    ]


def test_dev_sector_reads_back_every_piece(farm):
    for offset, index in enumerate(farm.plotted.piece_indices):
        assert farming.read_piece(farm.sector_path, farm.metadata, offset, farm.plotted.sector_id, farm.params) == farm.pieces[index]


def test_dev_record_encoding_matches_spec(farm):
    """Encoded chunks are chunk XOR blake3(proof), first NUM_CHUNKS in s-bucket order."""
    from chain import erasure, pos

    p = farm.params
    sid = farm.plotted.sector_id
    record = farm.pieces[farm.plotted.piece_indices[0]][: p.record_size]
    extended = erasure.interleave(record, erasure.extend(record))
    table = pos.table_for(p, evaluation_seed(sid, 0))
    enc = farming.encode_record(record, evaluation_seed(sid, 0), p)
    expected, bits = [], []
    for s in range(p.num_s_buckets):
        proof = table.find_proof(s)
        if proof is not None and len(expected) < p.num_chunks:
            expected.append(bytes(a ^ b for a, b in zip(extended[32 * s : 32 * s + 32], blake3(proof).digest())))
            bits.append(s)
    assert np.nonzero(enc.encoded)[0].tolist() == bits
    assert [enc.chunks[i].tobytes() for i in range(len(expected))] == expected


def test_dev_audit_prove_verify_many_slots(farm):
    from chain import pot
    from chain.verification import PieceCheckParams, verify_solution

    p = farm.params
    pkh = public_key_hash(farm.public_key)
    solution_range = U64_MAX // 8  # P(chunk in range) = 1/8: some slots have no candidates
    piece_check = PieceCheckParams(farm.history_size, farm.segment_commitments.get)
    output = pot.prove(b"\1" * 16, 1024)[-1]
    proven = empty = 0
    for slot in range(1, 40):
        challenge = farming.global_challenge(output, slot)
        result = farming.audit_sector(pkh, challenge, solution_range, farm.sector_path, farm.metadata, p)
        if result is None:
            empty += 1
            continue
        assert [d for _, d in result.candidates] == sorted(d for _, d in result.candidates)
        for solution in farming.prove_audit(result, farm.public_key, farm.reward_address, farm.sector_path, farm.metadata, farm.kzg, p):
            distance = verify_solution(solution, slot, output, solution_range, p, farm.kzg, piece_check)
            assert distance <= solution_range // 2
            assert Solution.decode(solution.encode(), p) == solution
            proven += 1
            break  # one proof per slot keeps the test fast
        if proven >= 6:
            break
    assert proven >= 6 and empty >= 1


# --- Corruption -----------------------------------------------------------------------------


@pytest.fixture
def sector_copy(farm, tmp_path):
    path = tmp_path / "copy.plot"
    shutil.copyfile(farm.sector_path, path)
    shutil.copyfile(metadata_path(farm.sector_path), metadata_path(path))
    return path


def test_corrupted_contents_map_names_file(farm, sector_copy):
    data = bytearray(sector_copy.read_bytes())
    data[3] ^= 0x10
    sector_copy.write_bytes(bytes(data))
    with pytest.raises(CorruptedSector, match=r"copy\.plot: sector contents map checksum"):
        farming.read_contents_map(sector_copy, farm.metadata, farm.params)
    with pytest.raises(CorruptedSector, match=r"copy\.plot"):
        farming.verify_sector_checksum(sector_copy, farm.metadata, farm.params)


def test_corrupted_chunk_fails_piece_checksum(farm, sector_copy):
    p = farm.params
    cmap = farming.read_contents_map(sector_copy, farm.metadata, p)
    s_bucket = int(np.nonzero(cmap.present()[0])[0][0])
    offset, _ = farm.metadata.s_bucket_location(s_bucket, p)
    data = bytearray(sector_copy.read_bytes())
    data[offset + 31] ^= 1  # record 0's chunk (first in its s-bucket)
    sector_copy.write_bytes(bytes(data))
    with pytest.raises(CorruptedSector, match=r"copy\.plot: record 0"):
        farming.read_piece(sector_copy, farm.metadata, 0, farm.plotted.sector_id, p)


def test_truncated_sector_names_file(farm, sector_copy):
    p = farm.params
    size = sector_copy.stat().st_size
    with open(sector_copy, "r+b") as f:
        f.truncate(size // 3)
    with pytest.raises(TruncatedSector, match=r"copy\.plot"):
        farming.verify_sector_checksum(sector_copy, farm.metadata, p)
    with pytest.raises(TruncatedSector, match=r"copy\.plot"):
        farming.read_piece(sector_copy, farm.metadata, p.max_pieces_in_sector - 1, farm.plotted.sector_id, p)
    last = p.num_s_buckets - 1
    with pytest.raises(TruncatedSector, match=rf"copy\.plot: .*s-bucket {last}"):
        farming.read_s_bucket(sector_copy, farm.metadata, last, p)
    assert issubclass(TruncatedSector, SectorError)


def test_bad_metadata_checksum_names_file(farm, sector_copy):
    meta = Path(metadata_path(sector_copy))
    data = bytearray(meta.read_bytes())
    data[-40] ^= 1
    meta.write_bytes(bytes(data))
    with pytest.raises(CorruptedSectorMetadata, match=r"copy\.plot\.meta: sector metadata checksum"):
        read_sector_metadata(sector_copy, farm.params)


def test_test_preset_sector_with_shim_pos(tmp_path):
    """The TEST preset (shim PoS, 32-chunk records): plot, read back, prove and verify."""
    for module in ("chain.pos", "chain.kzg", "chain.erasure"):
        pytest.importorskip(module)
    from chain import kzg as kzg_mod, pot
    from chain.farming.plotting import plot_sector_to_file
    from chain.verification import PieceCheckParams, verify_solution

    params, kzg = TEST, kzg_mod.Kzg.default()
    pieces, commitments = archived_pieces(params, kzg, num_segments=2)
    public_key = b"\x07" * 32
    path = tmp_path / "test.plot"
    plotted = plot_sector_to_file(path, public_key_hash(public_key), 1, 2, 8, pieces.__getitem__, params)
    metadata = read_sector_metadata(path, params)
    for offset, index in enumerate(plotted.piece_indices):
        assert farming.read_piece(path, metadata, offset, plotted.sector_id, params) == pieces[index]
    output = pot.prove(b"\3" * 16, 512)[-1]
    proven = 0
    for slot in range(1, 30):
        result = farming.audit_sector(public_key_hash(public_key), farming.global_challenge(output, slot), U64_MAX, path, metadata, params)
        for solution in farming.prove_audit(result, public_key, b"\0" * 32, path, metadata, kzg, params) if result else ():
            assert len(solution.encode()) == solution_size(params)
            verify_solution(solution, slot, output, U64_MAX, params, kzg, PieceCheckParams(2, commitments.get))
            proven += 1
            break
    assert proven >= 5
