"""The farmer process (chain/farmer, spec/consensus.md §5, §6) at DEV params with pieces from
the real archiver: plotting with progress, solving verified by chain.verification, resume,
corruption detection, farm-info checks, expiration replotting, waiting for pieces."""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from blake3 import blake3

from chain.farmer import (
    FARM_INFO_FILE,
    CorruptedFarmInfo,
    Farmer,
    FarmError,
    FarmInfoMismatch,
    PlottingProgress,
    format_progress,
    sector_file_name,
)
from chain.farming import metadata_path, public_key_hash, read_sector_metadata, sector_id
from chain.params import DEV, TEST, U64_MAX

for _module in ("chain.pos", "chain.kzg", "chain.erasure", "chain.archiving"):
    pytest.importorskip(_module)

from chain import archiving, pot  # noqa: E402
from chain.kzg import Kzg  # noqa: E402
from chain.verification import PieceCheckParams, verify_solution  # noqa: E402

PARAMS = DEV
REWARD = b"\x42" * 32


@dataclass(frozen=True)
class Key:
    """A signer stand-in: the farmer needs only the public key."""

    public_key: bytes


ALICE = Key(blake3(b"farmer-test-alice").digest())
BOB = Key(blake3(b"farmer-test-bob").digest())


@dataclass
class History:
    """Archived history: pieces and segment commitments of `segments` segments."""

    pieces: dict[int, bytes]
    commitments: dict[int, bytes]

    def history_size(self, segments: int) -> int:
        return max(1, segments)

    def getter(self, segments: int):
        """piece_getter that only serves the first `segments` segments."""
        limit = segments * PARAMS.num_pieces
        return lambda index: self.pieces.get(index) if index < limit else None

    def commitment_getter(self, segments: int):
        return lambda index: self.commitments.get(index) if index < segments else None


@functools.lru_cache(maxsize=None)
def kzg() -> Kzg:
    return Kzg.default()


@functools.lru_cache(maxsize=None)
def history() -> History:
    """Nine DEV segments of random blocks archived by chain.archiving.Archiver."""
    rng = np.random.default_rng(11)
    archiver = archiving.Archiver(PARAMS, kzg())
    segments = []
    while len(segments) < 9:
        segments.extend(archiver.add_block(rng.integers(0, 256, PARAMS.segment_size // 3, dtype=np.uint8).tobytes()))
    pieces, commitments = {}, {}
    for segment in segments:
        header = segment.segment_header
        commitments[header.segment_index] = header.segment_commitment
        for position, piece in enumerate(segment.pieces):
            pieces[header.segment_index * PARAMS.num_pieces + position] = bytes(piece)
    return History(pieces, commitments)


def make_farmer(directory, sectors=2, segments=3, key=ALICE, params=PARAMS, progress=None, piece_getter=None, **kw):
    h = history()
    return Farmer(
        directory, params, key, REWARD, piece_getter or h.getter(segments), sectors,
        kzg=kzg(), progress=progress if progress is not None else (lambda p: None), **kw,
    )


def plot(directory, sectors=2, segments=3, **kw) -> Farmer:
    farmer = make_farmer(directory, sectors, segments, **kw)
    h = history()
    farmer.start(h.history_size(segments), h.commitment_getter(segments))
    assert farmer.wait_plotted(timeout=120)
    farmer.stop()
    return farmer


def file_states(directory) -> dict[str, tuple[int, bytes]]:
    return {
        p.name: (p.stat().st_mtime_ns, blake3(p.read_bytes()).digest())
        for p in sorted(Path(directory).iterdir())
        if p.name.startswith("sector-")
    }


@pytest.fixture(scope="module")
def plotted_farm(tmp_path_factory):
    """A 3-sector DEV farm plotted at history size 3, with the progress reports."""
    directory = tmp_path_factory.mktemp("farm")
    reports: list[PlottingProgress] = []
    farmer = plot(directory, sectors=3, segments=3, progress=reports.append)
    return directory, farmer, reports


# --- Plotting and progress ------------------------------------------------------------------


def test_plotting_writes_sectors_and_reports_progress(plotted_farm):
    directory, farmer, reports = plotted_farm
    assert [r.sector_index for r in reports] == [0, 1, 2]
    assert [r.done for r in reports] == [1, 2, 3] and all(r.total == 3 for r in reports)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(r.eta >= 0 and r.elapsed > 0 and r.sector_bytes > 0 for r in reports)
    assert reports[-1].eta == 0 and reports[0].eta > 0
    assert [r.bytes_plotted for r in reports] == sorted(r.bytes_plotted for r in reports)
    assert not any(r.replot for r in reports)
    line = format_progress(reports[0])
    assert "\n" not in line and "1/3" in line and "33.3%" in line and "ETA" in line
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted([FARM_INFO_FILE] + [f"sector-0000{i}.plot{m}" for i in range(3) for m in ("", ".meta")])
    pkh = public_key_hash(ALICE.public_key)
    for sector in farmer.plotted_sectors():
        assert sector.history_size == 3
        assert sector.sector_id == sector_id(pkh, sector.sector_index, 3)
        assert read_sector_metadata(sector.path, PARAMS) == sector.metadata


def test_default_progress_prints_one_line_per_sector(tmp_path, capsys):
    farmer = Farmer(tmp_path, PARAMS, ALICE, REWARD, history().getter(1), 1, kzg=kzg())
    farmer.start(1, history().commitment_getter(1))
    assert farmer.wait_plotted(timeout=120)
    farmer.stop()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "plotted sector 0 (1/1, 100.0%)" in lines[0] and "ETA" in lines[0]


# --- Solving ----------------------------------------------------------------------------------


def test_solve_finds_solutions_that_verify(plotted_farm):
    _, farmer, _ = plotted_farm
    h = history()
    commitments = h.commitment_getter(3)
    output = pot.prove(b"\5" * 16, 1024)[-1]
    solution_range = U64_MAX // 256
    voting_range = U64_MAX // 64  # ~1/64 of chunks are candidates: many slots have none
    piece_check = PieceCheckParams(3, commitments)
    found = empty = 0
    for slot in range(1, 60):
        solutions = farmer.solve(slot, output, solution_range, voting_range, 3, commitments)
        if not solutions:
            empty += 1
            continue
        distances = [d for d, _ in solutions]
        assert distances == sorted(distances) and distances[-1] <= voting_range // 2
        distance, solution = solutions[0]
        assert verify_solution(solution, slot, output, voting_range, PARAMS, kzg(), piece_check) == distance
        assert solution.public_key == ALICE.public_key and solution.reward_address == REWARD
        if distance <= solution_range // 2:
            verify_solution(solution, slot, output, solution_range, PARAMS, kzg(), piece_check)
        found += 1
        if found >= 5 and empty >= 3:
            break
    assert found >= 5 and empty >= 3


def test_solve_max_solutions_and_all_verify(plotted_farm):
    _, farmer, _ = plotted_farm
    commitments = history().commitment_getter(3)
    output = pot.prove(b"\6" * 16, 1024)[-1]
    solutions = farmer.solve(7, output, U64_MAX // 32, U64_MAX // 8, 3, commitments)
    assert len(solutions) >= 2
    for distance, solution in solutions:
        assert verify_solution(solution, 7, output, U64_MAX // 8, PARAMS, kzg(), PieceCheckParams(3, commitments)) == distance
    hits = farmer.pos_tables.hits
    # the second solve proves with the tables the first one kept, and finds the same solutions
    assert farmer.solve(7, output, U64_MAX // 32, U64_MAX // 8, 3, commitments, max_solutions=1) == solutions[:1]
    assert farmer.pos_tables.hits == hits + 1


# --- Resume and corruption ------------------------------------------------------------------


def test_restart_resumes_without_replotting(plotted_farm):
    directory, _, _ = plotted_farm
    before = file_states(directory)
    reports = []
    farmer = plot(directory, sectors=3, segments=3, progress=reports.append)
    assert reports == []
    assert file_states(directory) == before
    assert [s.sector_index for s in farmer.plotted_sectors()] == [0, 1, 2]


def test_corrupted_sectors_are_named_and_replotted(tmp_path, caplog):
    plot(tmp_path, sectors=3, segments=2)
    before = file_states(tmp_path)
    s1, s2 = tmp_path / sector_file_name(1), tmp_path / sector_file_name(2)
    with open(s1, "r+b") as f:
        f.truncate(s1.stat().st_size // 2)
    meta = Path(metadata_path(s2))
    data = bytearray(meta.read_bytes())
    data[10] ^= 1
    meta.write_bytes(bytes(data))
    (tmp_path / "sector-00000.plot.new.tmp").write_bytes(b"half a sector")  # an interrupted plot
    reports = []
    with caplog.at_level(logging.INFO, logger="chain.farmer"):
        farmer = make_farmer(tmp_path, sectors=3, segments=2, progress=reports.append)
        assert [s.sector_index for s in farmer.plotted_sectors()] == [0]
        farmer.start(2, history().commitment_getter(2))
        assert farmer.wait_plotted(timeout=120)
        farmer.stop()
    log = caplog.text
    assert "sector-00001.plot: sector file is" in log and "expected" in log
    assert "sector-00002.plot.meta: sector metadata checksum mismatch" in log
    assert "discarding interrupted plot file sector-00000.plot.new.tmp" in log
    assert sorted(r.sector_index for r in reports) == [1, 2] and all(r.replot for r in reports)
    after = file_states(tmp_path)
    assert after["sector-00000.plot"] == before["sector-00000.plot"]
    assert "sector-00000.plot.new.tmp" not in after
    for name in ("sector-00001.plot", "sector-00002.plot.meta"):
        assert after[name][1] == before[name][1]  # same pieces, same history size: same bytes
    assert [s.sector_index for s in farmer.plotted_sectors()] == [0, 1, 2]
    for index in range(3):
        farmer.check_sector(index)


def test_sector_corrupted_while_farming_is_dropped_and_replotted(tmp_path, caplog):
    farmer = plot(tmp_path, sectors=1, segments=1)
    path = tmp_path / sector_file_name(0)
    with open(path, "r+b") as f:
        f.truncate(1000)  # even the audited s-bucket is gone
    output = pot.prove(b"\7" * 16, 1024)[-1]
    commitments = history().commitment_getter(1)
    with caplog.at_level(logging.WARNING, logger="chain.farmer"):
        assert farmer.solve(1, output, U64_MAX, U64_MAX, 1, commitments) == []
    assert "sector-00000.plot" in caplog.text and farmer.plotted_sectors() == []
    farmer.start(1, commitments)
    assert farmer.wait_plotted(timeout=120)
    farmer.stop()
    assert farmer.solve(1, output, U64_MAX, U64_MAX, 1, commitments)


def test_a_sector_path_that_is_not_a_file_is_refused_by_name(tmp_path):
    """Replotting onto a directory failed every 5 s forever: the farm refuses to open."""
    plot(tmp_path, sectors=1, segments=1)
    path = tmp_path / sector_file_name(0)
    path.unlink()
    path.mkdir()
    with pytest.raises(FarmError, match=f"{path}: not a regular file"):
        make_farmer(tmp_path, sectors=1)


# --- Farm info ------------------------------------------------------------------------------


def test_farm_info_mismatch_and_corruption_raise_typed_errors(tmp_path):
    plot(tmp_path, sectors=1, segments=1)
    before = file_states(tmp_path)
    with pytest.raises(FarmInfoMismatch, match=r"farm\.json: farm was created for public key"):
        make_farmer(tmp_path, sectors=1, key=BOB)
    with pytest.raises(FarmInfoMismatch, match=r"farm\.json: farm was created for params 'dev'"):
        Farmer(tmp_path, TEST, ALICE, REWARD, lambda i: None, 1, kzg=kzg())
    with pytest.raises(FarmInfoMismatch, match=r"farm\.json: farm has 16 pieces per sector, params give 8"):
        Farmer(tmp_path, PARAMS.with_(max_pieces_in_sector=8), ALICE, REWARD, lambda i: None, 1, kzg=kzg())
    assert file_states(tmp_path) == before  # nothing replotted
    info = tmp_path / FARM_INFO_FILE
    info.write_bytes(info.read_bytes().replace(b'"sectors": 1', b'"sectors": 2'))
    with pytest.raises(CorruptedFarmInfo, match=r"farm\.json: farm info checksum mismatch"):
        make_farmer(tmp_path, sectors=2)


def test_farm_grows(tmp_path):
    plot(tmp_path, sectors=1, segments=1)
    before = file_states(tmp_path)
    farmer = plot(tmp_path, sectors=2, segments=1)
    assert [s.sector_index for s in farmer.plotted_sectors()] == [0, 1]
    assert file_states(tmp_path)["sector-00000.plot"] == before["sector-00000.plot"]
    with pytest.raises(FarmInfoMismatch, match="would drop plotted sectors"):
        make_farmer(tmp_path, sectors=1)


# --- Expiration -----------------------------------------------------------------------------


def test_expired_sectors_are_not_audited_and_are_replotted(tmp_path):
    """Sectors plotted at history size 1 expire at 5..7 (check = 1 + 4, window 3); at history
    size 8 all are expired: solve skips them, and they are replotted at history size 8."""
    h = history()
    plot(tmp_path, sectors=2, segments=1)
    reports = []
    farmer = make_farmer(tmp_path, sectors=2, segments=8, progress=reports.append)
    old = {s.sector_index: s for s in farmer.plotted_sectors()}
    assert [s.history_size for s in old.values()] == [1, 1]
    output = pot.prove(b"\x08" * 16, 1024)[-1]
    commitments = h.commitment_getter(8)
    assert farmer.solve(3, output, U64_MAX, U64_MAX, 8, commitments) == []  # everything expired
    assert farmer.plotted_sectors() == []
    # still current at history size 4: the expiration-check segment (4) is not known yet
    assert farmer.solve(3, output, U64_MAX, U64_MAX, 4, h.commitment_getter(4))
    farmer.start(8, commitments)
    assert farmer.wait_plotted(timeout=120)
    farmer.stop()
    assert [r.sector_index for r in reports] == [0, 1] and all(r.replot for r in reports)
    pkh = public_key_hash(ALICE.public_key)
    new = farmer.plotted_sectors()
    assert [s.history_size for s in new] == [8, 8]
    assert [s.sector_id for s in new] == [sector_id(pkh, i, 8) for i in range(2)]
    assert all(s.sector_id != old[s.sector_index].sector_id for s in new)
    solutions = farmer.solve(3, output, U64_MAX, U64_MAX, 8, commitments, max_solutions=2)
    assert solutions
    for distance, solution in solutions:
        assert solution.history_size == 8
        verify_solution(solution, 3, output, U64_MAX, PARAMS, kzg(), PieceCheckParams(8, commitments))


# --- Waiting for pieces, concurrency -------------------------------------------------------------


def test_plotting_waits_for_pieces(tmp_path, caplog):
    """At genesis no segment is archived yet (history size 1): the piece getter returns None and
    plotting waits, then completes once the segment is there."""
    h = history()
    available = threading.Event()
    calls = {"none": 0}

    def getter(index):
        if not available.is_set():
            calls["none"] += 1
            if calls["none"] >= 3:
                available.set()
            return None
        return h.pieces.get(index)

    with caplog.at_level(logging.INFO, logger="chain.farmer"):
        farmer = make_farmer(tmp_path, sectors=1, piece_getter=getter, retry_interval=0.01, max_retry_interval=0.05)
        farmer.start(1, h.commitment_getter(1))
        assert farmer.wait_plotted(timeout=120)
        farmer.stop()
    assert calls["none"] == 3
    assert caplog.text.count("waits for piece") == 1 and "segment 0 is not archived yet" in caplog.text
    assert [s.sector_index for s in farmer.plotted_sectors()] == [0]


def test_a_piece_that_does_not_verify_is_named_and_never_plotted(tmp_path, caplog):
    """The node's stored piece was damaged: the farmer checks each piece against its segment
    commitment, names it and waits, and plots only once a good copy comes."""
    h = history()
    repaired = threading.Event()
    served = []

    def getter(index):
        piece = h.pieces.get(index)
        if piece is None or repaired.is_set():
            return piece
        served.append(index)
        if len(served) >= 3:
            repaired.set()
        damaged = bytearray(piece)
        damaged[100] ^= 0x01  # inside the record
        return bytes(damaged)

    with caplog.at_level(logging.INFO, logger="chain.farmer"):
        farmer = make_farmer(tmp_path, sectors=1, piece_getter=getter, retry_interval=0.01, max_retry_interval=0.05)
        farmer.start(1, h.commitment_getter(1))
        assert farmer.wait_plotted(timeout=120)
        farmer.stop()
    assert len(served) == 3 and len(set(served)) == 1
    assert f"piece {served[0]} from the piece getter does not verify against the commitment of segment 0" in caplog.text
    farmer.check_sector(0)
    assert [s.sector_index for s in farmer.plotted_sectors()] == [0]


def test_stop_interrupts_waiting_for_pieces(tmp_path):
    farmer = make_farmer(tmp_path, sectors=1, piece_getter=lambda i: None, retry_interval=0.01)
    farmer.start(1, history().commitment_getter(1))
    assert not farmer.wait_plotted(timeout=0.2)
    farmer.stop(timeout=10)
    assert not farmer.is_running() and farmer.plotted_sectors() == []


def test_solve_while_plotting(tmp_path):
    """solve runs on another thread while sectors are written; every solution verifies."""
    h = history()
    commitments = h.commitment_getter(2)
    farmer = make_farmer(tmp_path, sectors=3, segments=2)
    output = pot.prove(b"\x09" * 16, 1024)[-1]
    farmer.start(2, commitments)
    slot, verified = 0, 0
    while not farmer.wait_plotted(timeout=0.01):
        slot += 1
        for distance, solution in farmer.solve(slot, output, U64_MAX // 4, U64_MAX // 4, 2, commitments, max_solutions=1):
            verify_solution(solution, slot, output, U64_MAX // 4, PARAMS, kzg(), PieceCheckParams(2, commitments))
            verified += 1
    farmer.stop()
    assert len(farmer.plotted_sectors()) == 3 and slot >= 1
    assert farmer.solve(slot + 1, output, U64_MAX, U64_MAX, 2, commitments, max_solutions=1)


def test_constructor_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="reward address"):
        Farmer(tmp_path, PARAMS, ALICE, b"short", lambda i: None, 1)
    with pytest.raises(ValueError, match="sectors"):
        Farmer(tmp_path, PARAMS, ALICE, REWARD, lambda i: None, 0)
    assert not os.path.exists(tmp_path / FARM_INFO_FILE)
