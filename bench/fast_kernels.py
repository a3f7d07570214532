"""Benchmark 5b: one kernel, three tools -- free decay of a block of cells over a period, window charge too.

The kernel of every un-pulsed half in the fast model (lim_hw.fast): per cell ``u = k2/V``,
``e = exp(-u)``, window drop ``V L_W/(u + L_W)`` and period drop ``V L_G/(u + L_G)``,
``L = log1p(k1 dt e)``; ``V`` decays in place. Measured in the same run, same data, one
thread, CPU time per cell:

- numpy with ``out=`` and preallocated work arrays (lim_hw.fast.kernels._free_into, the
  engine before numba; numpy's exp/log1p are SIMD, 8 ufunc passes over the block);
- numexpr (one fused expression per output; skipped if numexpr is not installed: it is not a
  dependency);
- numba, fused (lim_hw.fast.fused, one pass, vectorised exp/log1p of lim_hw.fast.fmath), with
  the general log1p and with the division-free window series.

Prints a markdown table; ``--json FILE`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

N = 16384          # cells per call (4 blocks)
K1, K2 = 2.42e13, 304.09   # default card: k1 (1/s), k2 (V)
W, G = 0.01 + 2e-9, 10.0   # window and period (s)


def cpu_ns(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - c0) / reps / N * 1e9)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    from lim_hw.fast import fused
    from lim_hw.fast.kernels import _free_into, _Work

    V0 = np.random.default_rng(0).uniform(7.5, 8.0, N)
    res: dict[str, float] = {}
    w, V = _Work(N), V0.copy()
    _free_into(w, V, -K2, K1 * W, K1 * G)     # the reference: one step from V0
    ref_q = w.qw.copy()
    res["numpy, out= (8 passes)"] = cpu_ns(lambda: _free_into(w, V, -K2, K1 * W, K1 * G), 200)
    try:
        import numexpr as ne
    except ImportError:
        ne = None
    if ne is not None:
        ne.set_num_threads(1)
        out_q, Vn = np.empty(N), np.empty(N)
        env = {"V": V0, "k1": K1, "k2": K2, "W": W, "G": G}

        def nx() -> None:
            ne.evaluate("V*log1p(k1*W*exp(-k2/V))/(k2/V+log1p(k1*W*exp(-k2/V)))", local_dict=env, out=out_q)
            ne.evaluate("V-V*log1p(k1*G*exp(-k2/V))/(k2/V+log1p(k1*G*exp(-k2/V)))", local_dict=env, out=Vn)

        res["numexpr (2 fused expressions)"] = cpu_ns(nx, 200)
    C = N // 2   # the fused kernel advances both halves of C synapses: N cells
    st = fused.pack_state(C, {fused._VP: V0[:C], fused._VM: V0[C:], fused._K1P: np.full(C, K1),
                              fused._K2P: np.full(C, K2), fused._K1M: np.full(C, K1), fused._K2M: np.full(C, K2),
                              fused._IK2P: np.full(C, 1 / K2), fused._IK2M: np.full(C, 1 / K2)})
    acc = np.zeros((11, 2, 1))
    fresh = st.copy()
    for small, name in ((False, "numba fused, general log1p"), (True, "numba fused, window series")):
        st[:] = fresh
        fused.free_update(st, C, W, G, acc, 0, 0, small)   # one step from V0 (and the compile)
        q = np.concatenate([fused.state_row(st, C, fused._OQW), fused.state_row(st, C, fused._OQB)])
        res[name + " (max rel. diff of window charge vs numpy)"] = float(np.max(np.abs(q / ref_q - 1)))
        res[name] = cpu_ns(lambda small=small: fused.free_update(st, C, W, G, acc, 0, 0, small), 200)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    print(f"{N} cells per call, one thread, CPU time (best of 3). Default-card constants.\n")
    print("| implementation | CPU ns per cell | vs numpy | window charge vs numpy |")
    print("|---|---|---|---|")
    base = res["numpy, out= (8 passes)"]
    for k, v in res.items():
        if "max rel" in k:
            continue
        diff = res.get(k + " (max rel. diff of window charge vs numpy)")
        print(f"| {k} | {v:.2f} | {base / v:.2f}x | {'' if diff is None else f'{diff:.1e}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
