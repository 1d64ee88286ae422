"""The native kernels are built by the install on a machine with a C compiler.

Each kernel has a fallback with the same results (each module's tests compare both), so a
failed build would pass every other test and only be slower; this file is what notices.
"""

import importlib
import shutil

import pytest

from chain.native import KERNELS, status


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                    reason="no C compiler on this machine: the fallbacks are in use by design")
@pytest.mark.parametrize("native", sorted(KERNELS))
def test_kernel_is_built_and_used(native):
    importlib.import_module(native)  # ImportError here means setup.py did not build it
    row = {name: backend for name, _, backend in status()}[native]
    assert row not in ("numpy", "openssl", "python", "arkworks"), f"{native} is built but {KERNELS[native]} uses {row}"
