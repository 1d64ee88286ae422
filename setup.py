"""Optional native kernels for the consensus hot paths, built by pip at install.

Each kernel has a pure-Python (numpy) fallback with the same results, so an install where a
kernel fails to compile still works, only slower; `python -m chain.native` says which kernels
are in use. Kernels whose source file is absent are skipped.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
NATIVE = "chain/native"

#: module name -> (source, extra compile flags)
KERNELS = {
    "chain._pot_native": ("pot.c", ["-maes", "-msse4.1"]),
    "chain._pos_native": ("pos.c", []),
    "chain._fr_native": ("fr.c", []),
    "chain._audit_native": ("audit.c", []),
    "chain._g1_native": ("g1.c", []),
}


class OptionalBuildExt(build_ext):
    """Build each kernel if the compiler can; otherwise warn and leave the fallback in use."""

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # a missing compiler or an unsupported flag
            print(f"warning: native kernel {ext.name} not built ({exc}); the pure-Python fallback is used")


def extensions():
    found = []
    for name, (source, flags) in KERNELS.items():
        path = f"{NATIVE}/{source}"
        if (HERE / path).exists():
            found.append(
                Extension(
                    name,
                    [path],
                    include_dirs=[NATIVE],
                    extra_compile_args=["-O3", "-std=c11", *flags],
                    depends=[f"{NATIVE}/blake3_block.h"],
                )
            )
    return found


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
