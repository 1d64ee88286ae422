"""The optional native kernels (C sources here, built by `setup.py` into `chain._*_native`).

Each kernel has a pure-Python/numpy fallback with identical results; `python -m chain.native`
prints which kernels are built and which backend each module uses.
"""

from __future__ import annotations

import importlib

#: native module -> the module that uses it, which exposes its choice as BACKEND (or as the
#: attribute named after a colon)
KERNELS = {
    "chain._pot_native": "chain.pot",
    "chain._pos_native": "chain.pos",
    "chain._fr_native": "chain.erasure",
    "chain._audit_native": "chain.farming",
    "chain._g1_native": "chain.kzg:MSM_BACKEND",
}


def status() -> list[tuple[str, bool, str]]:
    """(native module, built?, backend its user reports) for every kernel."""
    rows = []
    for native, user in KERNELS.items():
        try:
            importlib.import_module(native)
            built = True
        except ImportError:
            built = False
        module, _, attribute = user.partition(":")
        try:
            backend = str(getattr(importlib.import_module(module), attribute or "BACKEND", "?"))
        except ImportError as exc:
            backend = f"unavailable ({exc})"
        rows.append((native, built, backend))
    return rows
