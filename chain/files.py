"""File writes that survive a crash: what the farm (plots, metadata, farm info) writes to disk.

`write_atomically` writes to `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the
directory, so after a kill -9 or a power cut the file is either the old one or the whole new
one, never a torn mix.
"""

from __future__ import annotations

import os


def write_atomically(path, data: bytes) -> None:
    """Write `data` to `path` via `path.tmp`, fsync, rename, then fsync the directory."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_directory(os.path.dirname(path) or ".")


def fsync_directory(directory) -> None:
    """Make renames in `directory` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
