"""`python -m chain.native`: which native kernels are built, and which backend each module uses."""

from chain.native import status

for native, built, backend in status():
    print(f"{native:<22} {'built' if built else 'NOT BUILT (fallback in use)':<28} backend: {backend}")
