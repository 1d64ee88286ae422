"""The farm-info file: which key, which parameters and how many sectors a farm directory was
created for (spec/consensus.md §5: a sector's identity is `sector_id(public_key_hash,
sector_index, history_size)`, so a plot made for one key or one parameter set is useless for
another).

The file (`farm.json`) is a JSON object with a BLAKE3 checksum of its canonical body, written
atomically (temp file, fsync, rename). Opening a farm whose info disagrees with the given
signer or params raises `FarmInfoMismatch` naming the file: the farmer never replots over a
farm made for another key.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from blake3 import blake3

FARM_INFO_FILE = "farm.json"
FARM_INFO_VERSION = 1


class FarmError(Exception):
    """A farm directory cannot be used; the message says which file and what is wrong."""

    def __init__(self, path, what: str):
        self.path = os.fspath(path)
        self.what = what
        super().__init__(f"{self.path}: {what}")


class CorruptedFarmInfo(FarmError):
    """The farm-info file is unreadable, malformed or fails its checksum."""


class FarmInfoMismatch(FarmError):
    """The farm-info file was written for another public key, other params or more sectors."""


@dataclass(frozen=True)
class FarmInfo:
    """What a farm directory was created for."""

    public_key: bytes
    params_name: str
    sectors: int
    pieces_in_sector: int
    version: int = FARM_INFO_VERSION

    def body(self) -> dict:
        d = asdict(self)
        d["public_key"] = self.public_key.hex()
        return d

    def encode(self) -> bytes:
        """Canonical JSON of the fields plus `"checksum": blake3(canonical body)`."""
        body = self.body()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return json.dumps({**body, "checksum": blake3(canonical).hexdigest()}, sort_keys=True, indent=2).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes, path) -> FarmInfo:
        try:
            obj = json.loads(data)
            checksum = obj.pop("checksum")
            canonical = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CorruptedFarmInfo(path, f"farm info is not valid JSON with a checksum ({exc})") from None
        if blake3(canonical).hexdigest() != checksum:
            raise CorruptedFarmInfo(path, "farm info checksum mismatch")
        try:
            info = cls(
                public_key=bytes.fromhex(obj["public_key"]),
                params_name=str(obj["params_name"]),
                sectors=int(obj["sectors"]),
                pieces_in_sector=int(obj["pieces_in_sector"]),
                version=int(obj["version"]),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptedFarmInfo(path, f"farm info field is missing or malformed ({exc})") from None
        if info.version != FARM_INFO_VERSION:
            raise CorruptedFarmInfo(path, f"farm info version {info.version} is not supported (expected {FARM_INFO_VERSION})")
        return info


def farm_info_path(directory) -> str:
    return os.path.join(os.fspath(directory), FARM_INFO_FILE)


def read_farm_info(directory) -> FarmInfo | None:
    """The farm info of `directory`, or None for a new farm (no file yet)."""
    path = farm_info_path(directory)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    return FarmInfo.decode(data, path)


def check_farm_info(found: FarmInfo, expected: FarmInfo, path) -> None:
    """A farm is reopened only with the key and params it was created with. Growing the sector
    count is allowed (the new sectors are plotted); shrinking it is refused, since it would
    silently drop plotted sectors."""
    if found.public_key != expected.public_key:
        raise FarmInfoMismatch(
            path, f"farm was created for public key {found.public_key.hex()}, not {expected.public_key.hex()}"
        )
    if found.params_name != expected.params_name:
        raise FarmInfoMismatch(path, f"farm was created for params {found.params_name!r}, not {expected.params_name!r}")
    if found.pieces_in_sector != expected.pieces_in_sector:
        raise FarmInfoMismatch(
            path, f"farm has {found.pieces_in_sector} pieces per sector, params give {expected.pieces_in_sector}"
        )
    if expected.sectors < found.sectors:
        raise FarmInfoMismatch(
            path, f"farm has {found.sectors} sectors; opening it with {expected.sectors} would drop plotted sectors"
        )
