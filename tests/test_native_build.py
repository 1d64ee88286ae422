"""The native kernels are built by the install on a machine with a C compiler.

Each kernel has a fallback with the same results (each module's tests compare both), so a
failed build would pass every other test and only be slower; this file is what notices.
"""

import importlib
import shutil
from pathlib import Path

import pytest

from chain.native import KERNELS, status


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                    reason="no C compiler on this machine: the fallbacks are in use by design")
@pytest.mark.parametrize("native", sorted(KERNELS))
def test_kernel_is_built_and_used(native):
    try:
        importlib.import_module(native)  # ImportError here means setup.py did not build it
    except ImportError as exc:
        if "needs a CPU with" in str(exc):  # built, but this CPU lacks what it needs
            pytest.skip(str(exc))
        raise
    row = {name: backend for name, _, backend in status()}[native]
    assert row not in ("numpy", "openssl", "python", "arkworks"), f"{native} is built but {KERNELS[native]} uses {row}"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc on this machine to build the portable variant")
def test_g1_portable_field_product_gives_the_same_msm(tmp_path):
    """chain/native/g1.c's C Montgomery product (used where the mulx/adox asm is not: other
    CPUs and compilers) computes the same MSMs as the asm one and as arkworks."""
    import importlib.util
    import random
    import subprocess
    import sysconfig

    from py_arkworks_bls12381 import G1Point, Scalar

    from chain.kzg import FR_MODULUS, Kzg

    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = tmp_path / f"_g1_native{suffix}"
    source = Path(__file__).resolve().parent.parent / "chain" / "native" / "g1.c"
    subprocess.run(["gcc", "-O2", "-std=c11", "-shared", "-fPIC", "-DG1_PORTABLE",
                    f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(target)], check=True)
    spec = importlib.util.spec_from_file_location("_g1_native", target)
    portable = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(portable)
    rng = random.Random(3)
    for n, c in ((1, 4), (70, 6), (513, 10)):
        points = Kzg.default().g1_powers(n)
        scalars = [rng.randrange(FR_MODULUS) for _ in range(n)]
        table = portable.precompute(b"".join(p.to_xy_bytes_be() for p in points), c)
        xy = portable.msm(table, n, c, b"".join(s.to_bytes(32, "big") for s in scalars))
        expected = G1Point.multiexp_unchecked(points, [Scalar(s) for s in scalars])
        assert G1Point.from_xy_bytes_unchecked_be(xy) == expected
