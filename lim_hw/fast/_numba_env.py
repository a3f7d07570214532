"""Let numba's LLVM use 512-bit vectors on AVX-512 CPUs (imported before numba by lim_hw.fast.fmath).

LLVM tunes Ice Lake and later for 256-bit vectors by default; the fused kernels are
compute-bound (divisions, polynomials), and 512-bit vectors made them 1.4x faster here
(docs/benchmarks.md s.5). numba reads ``NUMBA_CPU_FEATURES`` when it is first imported;
this sets it to the host's own features minus the 256-bit preference, unless the user set
it or numba is already loaded. The compiled-code cache is keyed on these features.
"""

from __future__ import annotations

import os
import sys


def configure() -> None:
    if "numba" in sys.modules or "NUMBA_CPU_FEATURES" in os.environ:
        return
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"


configure()
