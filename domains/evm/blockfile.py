"""Block files: concatenated RLP-encoded blocks, as `geth export` / `geth import` use them.

`import_blocks` validates and executes every block (full validation, every fork py-evm
knows) and commits each one durably; `export_blocks` writes canonical blocks in order.
A malformed file is reported with the byte offset and block position where it breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import rlp
from rlp.codec import consume_length_prefix
from rlp.exceptions import DecodingError

from domains.evm.chain import DomainChain, DomainError, InvalidBlock

Progress = Callable[[int, "int | None", str], None]


class BlockFileError(DomainError):
    """A block file is malformed; the message gives the file, the offset and the block."""


def iter_rlp_items(data: bytes, *, where: str = "block file") -> Iterator[tuple[int, bytes]]:
    """Each top-level RLP item of `data` with its byte offset."""
    offset = 0
    index = 0
    while offset < len(data):
        try:
            prefix, _typ, length, end = consume_length_prefix(data, offset)
        except (DecodingError, IndexError) as exc:
            raise BlockFileError(f"{where}: block {index} at byte {offset}: bad RLP prefix: {exc}") from exc
        stop = end + length
        if stop > len(data):
            raise BlockFileError(f"{where}: block {index} at byte {offset}: truncated "
                                 f"(needs {stop - offset} bytes, {len(data) - offset} left)")
        yield offset, data[offset:stop]
        offset = stop
        index += 1


def import_blocks(chain: DomainChain, path: str | Path, progress: Progress | None = None) -> int:
    """Import every block of the file at `path` into `chain`; returns how many were new.

    Blocks already in the chain (same hash) are skipped, so an interrupted import resumes.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BlockFileError(f"{path}: cannot read: {exc}") from exc
    items = list(iter_rlp_items(data, where=str(path)))
    imported = 0
    for position, (offset, raw) in enumerate(items):
        try:
            block = chain.decode_block(raw, number_hint=position + 1)
        except InvalidBlock as exc:
            raise BlockFileError(f"{path}: block {position} at byte {offset}: {exc}") from exc
        if chain.header_by_hash(block.hash) is not None:
            continue
        try:
            chain.import_block(block)
        except InvalidBlock as exc:
            raise BlockFileError(f"{path}: block {position} at byte {offset}: {exc}") from exc
        imported += 1
        if progress:
            progress(position + 1, len(items), "importing")
    return imported


def export_blocks(chain: DomainChain, path: str | Path, *, first: int = 1, last: int | None = None,
                  progress: Progress | None = None) -> int:
    """Write canonical blocks `first`..`last` (default: head) of `chain` to `path`."""
    head = chain.head().block_number
    last = head if last is None else last
    if first < 0 or last > head or first > last:
        raise BlockFileError(f"export range {first}..{last} is outside the chain (0..{head})")
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    count = 0
    with open(tmp, "wb") as out:
        for number in range(first, last + 1):
            header = chain.header_by_number(number)
            out.write(rlp.encode(chain.block_of(header)))
            count += 1
            if progress:
                progress(count, last - first + 1, "exporting")
    tmp.replace(path)
    return count
