"""Register tools/solc/bin/solc with py-solc-x, so that py-solc-x and ape-solidity find it.

py-solc-x (and ape-solidity through it) knows a compiler only as a file
``solc-v<version>`` in its install folder: ``$SOLCX_BINARY_PATH`` when that is set, else
``~/.solcx``. This script puts a symlink ``solc-v<pinned version>`` there that points at the
wrapper of this checkout (node resolves the link, so the wrapper still finds its
``node_modules``). With it registered, ape-solidity never tries to download a compiler.

It is idempotent and quick when nothing changed. It also
- repoints a link of the same name that points at another checkout (or nowhere);
- removes links of other versions that point at this wrapper or at a ``tools/solc/bin/solc``
  that no longer exists (left over from an older pin or a deleted checkout), because such a link
  would claim a version the wrapper does not have;
- leaves a real file of the same name alone (a native solc of the same version works as well)
  unless ``--force`` is given.

Usage: python tools/solc/install_for_solcx.py [--solcx-folder DIR] [--force] [--quiet]
Needs ``npm ci`` in tools/solc first. Standard library plus py-solc-x only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "bin" / "solc"


class RegistrationError(RuntimeError):
    """The wrapper cannot be registered (not installed, wrong version, folder problem)."""


def pinned_version() -> str:
    """The exact solc version pinned in package.json."""
    spec = json.loads((HERE / "package.json").read_text())["dependencies"]["solc"]
    if not all(part.isdigit() for part in spec.split(".")) or spec.count(".") != 2:
        raise RegistrationError(f"package.json must pin solc to an exact version, found {spec!r}")
    return spec


def installed_version() -> str:
    """The version of the solc npm package in node_modules, or an error if it is missing."""
    manifest = HERE / "node_modules" / "solc" / "package.json"
    if not manifest.is_file():
        raise RegistrationError(f"{manifest.parent} is missing: run `cd {HERE} && npm ci` first")
    return json.loads(manifest.read_text())["version"]


def _is_our_kind_of_link(path: Path) -> bool:
    """A symlink to this wrapper, or to some tools/solc/bin/solc that no longer exists."""
    if not path.is_symlink():
        return False
    target = Path(os.readlink(path))
    if not target.is_absolute():
        target = path.parent / target
    if target.resolve() == WRAPPER:
        return True
    return target.parts[-3:] == ("solc", "bin", "solc") and not target.exists()


def register(folder: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """Make ``<solcx folder>/solc-v<version>`` point at the wrapper.

    Returns (path of the link, whether anything changed).
    """
    import solcx
    from packaging.version import Version
    from solcx.install import get_executable

    version = pinned_version()
    if installed_version() != version:
        raise RegistrationError(
            f"node_modules has solc {installed_version()} but package.json pins {version}: "
            f"run `cd {HERE} && npm ci`")
    # An explicit folder wins over $SOLCX_BINARY_PATH (py-solc-x itself prefers the variable).
    install_folder = Path(folder) if folder is not None else Path(solcx.get_solcx_install_folder())
    install_folder.mkdir(parents=True, exist_ok=True)
    link = install_folder / f"solc-v{version}"
    changed = False

    for other in install_folder.glob("solc-v*"):
        if other.name != link.name and _is_our_kind_of_link(other):
            other.unlink()
            changed = True

    if link.is_symlink() and link.resolve() == WRAPPER:
        return link, changed
    if link.exists() and not link.is_symlink() and not force:
        # A real solc of the same version (e.g. downloaded earlier) serves just as well.
        return link, changed

    reported = solcx.wrapper.get_solc_version(WRAPPER, with_commit_hash=False)
    if reported != Version(version):
        raise RegistrationError(f"{WRAPPER} reports version {reported}, expected {version}")
    temporary = install_folder / f".{link.name}.{os.getpid()}.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(WRAPPER)
    os.replace(temporary, link)  # atomic: no moment without a compiler
    if folder is None and get_executable(version) != link:
        raise RegistrationError(f"py-solc-x does not find {link} after registering it")
    return link, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solcx-folder", type=Path, default=None,
                        help="register here instead of py-solc-x's folder ($SOLCX_BINARY_PATH or ~/.solcx)")
    parser.add_argument("--force", action="store_true",
                        help="replace a real file of the same name as well")
    parser.add_argument("--quiet", action="store_true", help="print nothing when nothing changed")
    args = parser.parse_args(argv)
    try:
        link, changed = register(args.solcx_folder, force=args.force)
    except RegistrationError as err:
        print(f"install_for_solcx: {err}", file=sys.stderr)
        return 1
    if changed or not args.quiet:
        target = os.readlink(link) if link.is_symlink() else "a native solc (kept)"
        print(f"py-solc-x: {link} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
