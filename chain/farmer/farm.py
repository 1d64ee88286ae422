"""The farmer process (spec/consensus.md §5 "Plotting", §6 "Farming"): a farm directory of
plotted sectors, a background plotting thread, and `Farmer.solve` for the node's slot worker.

Farm directory layout:

* `farm.json`: the farm info (public key, params name, sector count, pieces per sector) with a
  BLAKE3 checksum (`chain.farmer.farm_info`);
* `sector-NNNNN.plot` and `sector-NNNNN.plot.meta`: one sector and its `SectorMetadata`
  (`chain.farming.layout`), NNNNN = the sector index.

A sector is written by `chain.farming.write_sector_files` to a staging name
(`sector-NNNNN.plot.new`, itself via `.tmp` + fsync + rename) and then renamed into place while
no audit is reading the farm, so `solve` never sees a sector file that disagrees with the
metadata it holds. On opening, leftovers of an interrupted plot (`*.tmp`, `*.new`) are deleted,
and every sector on disk is checked (metadata checksum, sector index, file size, contents map
and the sector's own checksum); a sector failing a check is logged by file name and replotted,
never used.

The plotting thread plots missing sectors in index order at the current history size (the
`history_size` given to `start`, `set_history_size` or `solve`), then replots sectors whose
expiration history size (spec §5 "Sector expiration") has been reached. Expired sectors are
not audited. Pieces come from `piece_getter(piece_index) -> bytes | None`; while it returns
None (segment not archived yet) the thread waits and retries, with one log line.

Thread safety: `solve` may run on any thread while the plotting thread writes sectors. The
sector table is guarded by a condition lock; file replacement takes the write side of a
readers-writer lock whose read side `solve` holds. No callable given by the node
(`piece_getter`, `segment_commitment`) is ever called with a farmer lock held.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from chain.archiving import is_piece_valid
from chain.farmer.farm_info import FarmError, FarmInfo, check_farm_info, farm_info_path, read_farm_info
from chain.files import fsync_directory, write_atomically
from chain.farmer.progress import PlottingProgress, ProgressPrinter
from chain.farmer.table_cache import PosTableCache
from chain.farming.audit import audit_sector, global_challenge
from chain.farming.encoding import pos_table
from chain.farming.identifiers import (
    derive_expiration_history_size,
    evaluation_seed,
    public_key_hash,
    sector_expiration_check_segment_index,
    sector_id as derive_sector_id,
)
from chain.farming.layout import (
    CorruptedSector,
    CorruptedSectorMetadata,
    SectorError,
    SectorMetadata,
    TruncatedSector,
    metadata_path,
    read_sector_metadata,
    sector_size,
)
from chain.farming.plotting import plot_sector, sector_piece_indices, write_sector_files
from chain.farming.proving import prove_chunk, winning_chunks
from chain.farming.reading import read_contents_map, verify_sector_checksum
from chain.farming.solution import Solution
from chain.params import Params
from chain.store import StoreError

logger = logging.getLogger("chain.farmer")

SegmentCommitmentGetter = Callable[[int], "bytes | None"]
PieceGetter = Callable[[int], "bytes | None"]

#: Suffix of a sector written but not yet renamed into place.
STAGING_SUFFIX = ".new"


class _Stopped(Exception):
    """The plotting thread was asked to stop while waiting."""


@dataclass(frozen=True)
class FarmSector:
    """A plotted sector on disk: where it is, its metadata and its id."""

    sector_index: int
    path: str
    metadata: SectorMetadata
    sector_id: bytes

    @property
    def history_size(self) -> int:
        return self.metadata.history_size


def sector_file_name(sector_index: int) -> str:
    return f"sector-{sector_index:05d}.plot"


def is_interrupted_plot_file(name: str) -> bool:
    """Files left by a plot that did not finish: temp files and unrenamed staging files."""
    return name.endswith(".tmp") or name.endswith(STAGING_SUFFIX) or name.endswith(STAGING_SUFFIX + ".meta")


class _ReadWriteLock:
    """Many readers (audits) or one writer (a sector rename); waiting writers go first."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self):
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class Farmer:
    """A farm directory plus its plotting thread (spec §5) and the audit/proving (spec §6).

    `signer` needs only `public_key` (32 bytes); `reward_address` is the 32-byte account the
    solutions name. `sectors` is the number of sectors of `params.max_pieces_in_sector` pieces.
    `progress(PlottingProgress)` is called after each plotted sector (default: one line on
    stderr). `full_check` also hashes each whole sector file when the farm is opened.
    """

    def __init__(
        self,
        directory,
        params: Params,
        signer,
        reward_address: bytes,
        piece_getter: PieceGetter,
        sectors: int,
        kzg=None,
        progress: Callable[[PlottingProgress], None] | None = None,
        *,
        full_check: bool = True,
        retry_interval: float = 0.5,
        max_retry_interval: float = 5.0,
    ):
        if not 1 <= sectors <= 1 << 16:
            raise ValueError(f"sectors must be in 1..65536 (sector index is a u16), got {sectors}")
        if len(reward_address) != 32:
            raise ValueError(f"reward address must be 32 bytes, got {len(reward_address)}")
        self.directory = Path(directory)
        self.params = params
        self.signer = signer
        self.public_key = bytes(signer.public_key)
        self.public_key_hash = public_key_hash(self.public_key)
        self.reward_address = bytes(reward_address)
        self.piece_getter = piece_getter
        self.sectors = sectors
        self.pieces_in_sector = params.max_pieces_in_sector
        self.progress = progress if progress is not None else ProgressPrinter()
        self.full_check = full_check
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self._kzg = kzg
        #: PoS tables of records that won recently (`solve` proves with them instead of rebuilding)
        self.pos_tables = PosTableCache()
        #: The last unexpected error of the plotting thread (it logs it and retries).
        self.last_error: BaseException | None = None

        self._lock = threading.Condition()
        self._files = _ReadWriteLock()
        self._sectors: dict[int, FarmSector] = {}
        self._expires: dict[bytes, int] = {}  # sector id -> expiration history size
        self._replot: set[int] = set()  # sectors dropped (corrupted/expired): their next plot is a replot
        self._history_size: int | None = None
        self._segment_commitment: SegmentCommitmentGetter | None = None
        self._idle = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

        self.directory.mkdir(parents=True, exist_ok=True)
        self._open_farm_info()
        self._discard_interrupted_plots()
        self._open_sectors()

    # --- Opening the farm -----------------------------------------------------------------

    @property
    def kzg(self):
        if self._kzg is None:
            from chain.kzg import Kzg

            self._kzg = Kzg.default()
        return self._kzg

    @property
    def farm_info_path(self) -> Path:
        return Path(farm_info_path(self.directory))

    def sector_path(self, sector_index: int) -> Path:
        return self.directory / sector_file_name(sector_index)

    def _open_farm_info(self) -> None:
        expected = FarmInfo(self.public_key, self.params.name, self.sectors, self.pieces_in_sector)
        found = read_farm_info(self.directory)
        if found is not None:
            check_farm_info(found, expected, self.farm_info_path)
            if found.sectors == expected.sectors:
                return
            logger.info("farm %s grows from %d to %d sectors", self.directory, found.sectors, expected.sectors)
        write_atomically(self.farm_info_path, expected.encode())

    def _discard_interrupted_plots(self) -> None:
        for name in sorted(os.listdir(self.directory)):
            if name.startswith("sector-") and is_interrupted_plot_file(name):
                logger.warning("farm %s: discarding interrupted plot file %s", self.directory, name)
                os.remove(self.directory / name)

    def _open_sectors(self) -> None:
        for index in range(self.sectors):
            path = self.sector_path(index)
            if not path.exists() and not os.path.exists(metadata_path(path)):
                continue
            for file in (path, Path(metadata_path(path))):
                if file.exists() and not file.is_file():
                    # Replotting would fail on it forever: only its owner can tell what it is.
                    raise FarmError(file, "not a regular file (a sector's plot or metadata belongs there); "
                                          "move it away and the sector is plotted again")
            try:
                sector = self.check_sector(index)
            except SectorError as exc:
                logger.warning("sector %d is unusable and will be replotted: %s", index, exc)
                self._replot.add(index)
                continue
            self._sectors[index] = sector
        if self._sectors:
            logger.info("farm %s: %d of %d sectors plotted", self.directory, len(self._sectors), self.sectors)

    def check_sector(self, sector_index: int) -> FarmSector:
        """Check one sector on disk (metadata checksum and fields, file size, contents map and,
        with `full_check`, the sector checksum); raises a `SectorError` naming the file."""
        path = self.sector_path(sector_index)
        if not path.exists():
            raise CorruptedSector(path, "sector file is missing (its metadata exists)")
        metadata = read_sector_metadata(path, self.params)
        if metadata.sector_index != sector_index or metadata.pieces_in_sector != self.pieces_in_sector:
            raise CorruptedSectorMetadata(
                metadata_path(path),
                f"metadata is for sector {metadata.sector_index} with {metadata.pieces_in_sector} pieces, "
                f"expected sector {sector_index} with {self.pieces_in_sector}",
            )
        expected, actual = sector_size(self.pieces_in_sector, self.params), path.stat().st_size
        if actual != expected:
            raise TruncatedSector(path, f"sector file is {actual} bytes, expected {expected}")
        read_contents_map(path, metadata, self.params)
        if self.full_check:
            verify_sector_checksum(path, metadata, self.params)
        sid = derive_sector_id(self.public_key_hash, sector_index, metadata.history_size)
        return FarmSector(sector_index, os.fspath(path), metadata, sid)

    # --- Public state ---------------------------------------------------------------------

    def plotted_sectors(self) -> list[FarmSector]:
        """The sectors `solve` audits: plotted, checked, and not known to be expired at the latest
        history size, in sector-index order."""
        with self._lock:
            history_size = self._history_size
            return [
                s for _, s in sorted(self._sectors.items())
                if history_size is None or not self._known_expired(s, history_size)
            ]

    def set_history_size(self, history_size: int, segment_commitment: SegmentCommitmentGetter | None = None) -> None:
        """Tell the plotting thread the chain's current history size (new sectors are plotted at
        it; sectors expiring at it are replotted)."""
        if history_size < 1:
            raise ValueError(f"history size must be >= 1, got {history_size}")
        with self._lock:
            if segment_commitment is not None:
                self._segment_commitment = segment_commitment
            if history_size != self._history_size:
                self._history_size = history_size
                self._idle = False
                self._lock.notify_all()

    @property
    def history_size(self) -> int | None:
        return self._history_size

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- The plotting thread ----------------------------------------------------------------

    def start(self, history_size: int, segment_commitment: SegmentCommitmentGetter) -> None:
        """Start (or keep running) the plotting thread at `history_size`."""
        self.set_history_size(history_size, segment_commitment)
        if self.is_running():
            return
        self._stop.clear()
        with self._lock:
            self._idle = False
        self._thread = threading.Thread(target=self._run, name=f"farmer-plotting:{self.directory.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the plotting thread between sectors (a sector being encoded is finished and
        written; waiting for a piece is interrupted)."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._lock.notify_all()

    close = stop

    def __enter__(self) -> Farmer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_plotted(self, timeout: float | None = None) -> bool:
        """Wait until the plotting thread has nothing left to do (every sector plotted and not
        expired at the latest history size). False on timeout, or if the thread is not running
        and sectors are missing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                if self._idle and self.is_running():
                    return True
                if not self.is_running():
                    return len(self._sectors) == self.sectors and not self._replot
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining if remaining is not None else 1.0)

    def _run(self) -> None:
        run_started: float | None = None
        plotted_in_run = bytes_in_run = 0
        while not self._stop.is_set():
            try:
                job = self._next_job()
            except Exception as exc:  # a failing segment_commitment getter
                self._note_error("choosing the next sector to plot", exc)
                continue
            if job is None:
                with self._lock:
                    if self._stop.is_set():
                        break
                    self._idle = True
                    self._lock.notify_all()
                    run_started, plotted_in_run, bytes_in_run = None, 0, 0
                    while self._idle and not self._stop.is_set():
                        self._lock.wait(1.0)
                continue
            index, replot = job
            if run_started is None:
                run_started = time.monotonic()
            started = time.monotonic()
            try:
                sector, size = self._plot(index, replot)
            except _Stopped:
                break
            except Exception as exc:
                self._note_error(f"plotting sector {index}", exc)
                continue
            plotted_in_run += 1
            bytes_in_run += size
            self._report(sector, replot, size, started, run_started, plotted_in_run, bytes_in_run)
        with self._lock:
            self._lock.notify_all()

    def _note_error(self, what: str, exc: Exception) -> None:
        self.last_error = exc
        # Damaged data is named by its message; a traceback is for the unexpected.
        logger.error("farm %s: error %s, retrying in %.1fs: %s", self.directory, what, self.max_retry_interval, exc,
                     exc_info=None if isinstance(exc, (StoreError, FarmError)) else exc)
        self._stop.wait(self.max_retry_interval)

    def _next_job(self) -> tuple[int, bool] | None:
        """(sector index, is a replot) of the next sector to plot: missing sectors in index order,
        then expired ones. Calls `segment_commitment` without holding the lock."""
        with self._lock:
            history_size, getter = self._history_size, self._segment_commitment
            if history_size is None:
                return None
            for index in range(self.sectors):
                if index not in self._sectors:
                    return index, index in self._replot
            sectors = sorted(self._sectors.items())
        for index, sector in sectors:
            expires = self._expiration_history_size(sector, getter)
            if expires is not None and expires <= history_size:
                logger.info(
                    "sector %d (history size %d) expired at history size %d (current %d): replotting",
                    index, sector.history_size, expires, history_size,
                )
                return index, True
        return None

    def _plot(self, index: int, replot: bool) -> tuple[FarmSector, int]:
        """Plot sector `index` at the current history size and swap it into the farm."""
        with self._lock:
            history_size = self._history_size
        sid = derive_sector_id(self.public_key_hash, index, history_size)
        pieces = {}
        for piece_index in sector_piece_indices(sid, self.pieces_in_sector, history_size, self.params):
            if piece_index not in pieces:
                pieces[piece_index] = self._get_piece(piece_index, index)
        plotted = plot_sector(
            self.public_key_hash, index, history_size, self.pieces_in_sector, pieces.__getitem__, self.params
        )
        path = self.sector_path(index)
        staging = Path(os.fspath(path) + STAGING_SUFFIX)
        write_sector_files(staging, plotted)
        sector = FarmSector(index, os.fspath(path), plotted.metadata, plotted.sector_id)
        with self._files.write():
            with self._lock:
                self._sectors.pop(index, None)
            os.replace(staging, path)
            os.replace(metadata_path(staging), metadata_path(path))
            fsync_directory(self.directory)
            with self._lock:
                self._sectors[index] = sector
                self._replot.discard(index)
                self._lock.notify_all()
        return sector, len(plotted.sector) + len(plotted.metadata.encode())

    def _get_piece(self, piece_index: int, sector_index: int) -> bytes:
        """A piece from `piece_getter` that verifies against its segment's commitment (spec §4
        "Piece verification", as a farmer checks pieces it did not archive itself), waiting
        (with backoff, one log line) while it returns None, a piece of the wrong size, or one
        that does not verify (the source's copy is damaged: it is named, never plotted)."""
        delay, waited = self.retry_interval, False
        segment, position = divmod(piece_index, self.params.num_pieces)
        while True:
            if self._stop.is_set():
                raise _Stopped
            piece = self.piece_getter(piece_index)
            problem = None
            if piece is None:
                problem = f"sector {sector_index} waits for piece {piece_index} (segment {segment} is not archived yet)"
            elif len(piece) != self.params.piece_size:
                problem = f"piece {piece_index} from the piece getter is {len(piece)} bytes, expected {self.params.piece_size}"
            elif not self._piece_verifies(bytes(piece), segment, position):
                problem = (f"piece {piece_index} from the piece getter does not verify against the commitment of "
                           f"segment {segment}: that copy is damaged")
            if problem is None:
                if waited:
                    logger.info("piece %d is available: plotting sector %d", piece_index, sector_index)
                return bytes(piece)
            if not waited:
                (logger.info if piece is None else logger.warning)("%s; retrying", problem)
                waited = True
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_retry_interval)

    def _piece_verifies(self, piece: bytes, segment: int, position: int) -> bool:
        """`is_piece_valid` against the segment commitment the chain gives (True when no
        commitment getter was given yet: the farm was started without one)."""
        with self._lock:
            getter = self._segment_commitment
        if getter is None:
            return True
        commitment = getter(segment)
        return commitment is not None and is_piece_valid(self.kzg, piece, commitment, position, self.params)

    def _report(self, sector, replot, size, started, run_started, plotted_in_run, bytes_in_run) -> None:
        now = time.monotonic()
        with self._lock:
            history_size, getter = self._history_size, self._segment_commitment
            sectors = list(self._sectors.values())
        try:  # learn which sectors are expired (outside the lock: the getter is the node's)
            for s in sectors:
                self._expiration_history_size(s, getter)
        except Exception:
            pass
        done = sum(1 for s in sectors if not self._known_expired(s, history_size))
        elapsed = now - run_started
        remaining = max(0, self.sectors - done)
        eta = elapsed / plotted_in_run * remaining
        progress = PlottingProgress(
            sector_index=sector.sector_index,
            done=done,
            total=self.sectors,
            sector_bytes=size,
            bytes_plotted=bytes_in_run,
            sector_seconds=now - started,
            elapsed=elapsed,
            eta=eta,
            history_size=sector.history_size,
            replot=replot,
        )
        try:
            self.progress(progress)
        except Exception:
            logger.exception("farm %s: progress callback failed", self.directory)

    # --- Expiration (spec §5 "Sector expiration") ------------------------------------------------

    def _expiration_history_size(self, sector: FarmSector, segment_commitment: SegmentCommitmentGetter | None) -> int | None:
        """The sector's expiration history size, once the commitment of its expiration-check
        segment is known (cached per sector id); None before."""
        expires = self._expires.get(sector.sector_id)
        if expires is not None or segment_commitment is None:
            return expires
        lifetime = self.params.min_sector_lifetime
        commitment = segment_commitment(sector_expiration_check_segment_index(sector.history_size, lifetime))
        if commitment is None:
            return None
        expires = derive_expiration_history_size(sector.sector_id, sector.history_size, commitment, lifetime)
        if expires is not None:
            self._expires[sector.sector_id] = expires
        return expires

    def _known_expired(self, sector: FarmSector, history_size: int | None) -> bool:
        expires = self._expires.get(sector.sector_id)
        return history_size is not None and expires is not None and expires <= history_size

    def _drop_sector(self, sector: FarmSector, exc: SectorError) -> None:
        """A sector failed while being audited or proven: log it by name and replot it."""
        logger.warning("sector %d is unusable and will be replotted: %s", sector.sector_index, exc)
        with self._lock:
            if self._sectors.get(sector.sector_index) is sector:
                del self._sectors[sector.sector_index]
                self._replot.add(sector.sector_index)
                self._idle = False
                self._lock.notify_all()

    # --- Farming (spec §6) ------------------------------------------------------------------

    def solve(
        self,
        slot: int,
        pot_output: bytes,
        solution_range: int,
        voting_range: int,
        history_size: int,
        segment_commitment: SegmentCommitmentGetter,
        max_solutions: int | None = None,
    ) -> list[tuple[int, Solution]]:
        """Audit every plotted, unexpired sector for `slot` with the voting range and prove the
        candidates (spec §6 "Audit", "Proving"): `[(distance, solution)]` sorted by distance
        (then sector index, piece offset). Each distance is `<= max(voting_range,
        solution_range) / 2`; the node takes the first with `distance <= solution_range / 2`
        as its pre-digest. `max_solutions` stops proving after that many (best first).

        Only the audited s-bucket of each sector is read; each candidate costs a PoS table and
        an erasure decode. A sector failing a read is logged and queued for replotting."""
        self.set_history_size(history_size, segment_commitment)
        challenge = global_challenge(pot_output, slot)
        audit_range = max(voting_range, solution_range)
        solutions: list[tuple[int, Solution]] = []
        with self._lock:
            sectors = list(self._sectors.values())
        for sector in sectors:  # the node's getter is called with no farmer lock held
            self._expiration_history_size(sector, segment_commitment)
        with self._files.read():
            with self._lock:
                sectors = [s for _, s in sorted(self._sectors.items())]
            candidates = []
            for sector in sectors:
                if self._known_expired(sector, history_size):
                    continue  # expired: replotted in the background, not audited (spec §5)
                try:
                    audit = audit_sector(
                        self.public_key_hash, challenge, audit_range, sector.path, sector.metadata, self.params
                    )
                    if audit is None:
                        continue
                    contents_map = read_contents_map(sector.path, sector.metadata, self.params)
                except SectorError as exc:
                    self._drop_sector(sector, exc)
                    continue
                for piece_offset, _chunk_offset, distance in winning_chunks(audit, contents_map):
                    candidates.append((distance, sector.sector_index, piece_offset, sector, audit, contents_map))
            candidates.sort(key=lambda c: c[:3])
            dropped: set[int] = set()
            for distance, index, piece_offset, sector, audit, contents_map in candidates:
                if max_solutions is not None and len(solutions) >= max_solutions:
                    break
                if index in dropped:
                    continue
                try:
                    table = self.pos_tables.table(evaluation_seed(sector.sector_id, piece_offset),
                                                  lambda seed: pos_table(seed, self.params))
                    solution = prove_chunk(
                        self.public_key, self.reward_address, sector.path, sector.metadata, contents_map,
                        sector.sector_id, audit.s_bucket, piece_offset, self.kzg, self.params, table=table,
                    )
                except SectorError as exc:
                    dropped.add(index)
                    self._drop_sector(sector, exc)
                    continue
                solutions.append((distance, solution))
        return solutions
