"""Benchmark 3: sweep throughput -- local pool (1 and 2 workers) and a Dask LocalCluster.

A 32-point grid (8 oxide thicknesses x 4 initial oxide voltages) of the default card
with 60 updates (about 0.5-1 s per point: synthesis, ngspice, accounting, plots
and report of run_flow) runs on each executor into a fresh directory. The
executor is started (and warmed up) before the clock starts; its start-up time
is reported apart. Targets: 2 workers >= 1.7x faster than 1 worker; Dask
LocalCluster within 15 % of the local pool. The sweep tables of all runs must be
byte-identical.

``--arrays`` measures instead how large an array the batch engine simulates in
about a minute (default card, 20 updates): whole arrays (block_cols = cols) and
arrays split into column blocks on 2 workers (lim_hw.sweep.arrays).

Prints markdown tables on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lim_hw.sweep.executors import make_executor
from lim_hw.sweep.runner import run_sweep
from lim_hw.sweep.spec import sweep_from_dict

SWEEP = {
    "sweep": {"name": "throughput"},
    "set": {"schedule.n_updates": 60},
    "grid": {"device.tox_m": [11.6e-9, 11.7e-9, 11.8e-9, 11.9e-9, 12.0e-9, 12.1e-9, 12.2e-9, 12.3e-9],
             "device.V0_V": [7.8, 7.9, 8.0, 8.1]},
}
CONFIGS = [("local", 1), ("local", 2), ("dask", 2)]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def throughput(repeats: int) -> list[str]:
    spec = sweep_from_dict(SWEEP)
    times: dict[tuple[str, int], list[float]] = {c: [] for c in CONFIGS}
    starts: dict[tuple[str, int], list[float]] = {c: [] for c in CONFIGS}
    loads: dict[tuple[str, int], list[float]] = {c: [] for c in CONFIGS}
    tables: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for rep in range(repeats):
            for kind, workers in CONFIGS:
                t0 = time.perf_counter()
                ex = make_executor(kind, workers)
                ex.start()
                list(ex.map_unordered(abs, [0] * (2 * workers)))  # warm: workers started
                t1 = time.perf_counter()
                out = tmp / f"{kind}{workers}-{rep}"
                res = run_sweep(spec, out, executor=ex, progress=False)
                t2 = time.perf_counter()
                ex.close()
                assert res.complete and res.n_ok == spec.n_points, res.table["error"].unique()
                starts[(kind, workers)].append(t1 - t0)
                times[(kind, workers)].append(t2 - t1)
                loads[(kind, workers)].append(os.getloadavg()[0])
                tables.append((out / "sweep.csv").read_bytes())
                log(f"{kind} x{workers} run {rep + 1}: start {t1 - t0:.2f} s, sweep {t2 - t1:.2f} s, "
                    f"load {os.getloadavg()[0]:.2f}")
    identical = all(t == tables[0] for t in tables)
    med = {c: statistics.median(v) for c, v in times.items()}
    base = med[("local", 1)]
    lines = [f"32 points (default card, 60 updates, 8 tox_m x 4 V0_V), median of {repeats} run(s), "
             f"{os.cpu_count()} cores; "
             f"sweep.csv identical across all runs: {'yes' if identical else 'NO'}.", "",
             "| executor | workers | start-up (s) | sweep (s) | points/s | speed-up vs 1 worker | "
             "load avg (1 min) |",
             "|---|---|---|---|---|---|---|"]
    for kind, workers in CONFIGS:
        name = "local pool" if kind == "local" else "Dask LocalCluster"
        if kind == "local" and workers == 1:
            name = "local (in-process)"
        m = med[(kind, workers)]
        lines.append(f"| {name} | {workers} | {statistics.median(starts[(kind, workers)]):.2f} | {m:.2f} | "
                     f"{32 / m:.2f} | {base / m:.2f}x | {statistics.median(loads[(kind, workers)]):.1f} |")
    # Paired ratios (same repeat, minutes apart) are less sensitive to other jobs on the machine.
    speed = [a / b for a, b in zip(times[("local", 1)], times[("local", 2)])]
    dask = [a / b for a, b in zip(times[("dask", 2)], times[("local", 2)])]
    ratio = med[("dask", 2)] / med[("local", 2)]
    lines += ["", f"2 workers vs 1: {base / med[('local', 2)]:.2f}x on the medians, per repeat "
                  f"{', '.join(f'{x:.2f}x' for x in speed)} (target >= 1.7x); "
                  f"Dask / local pool (2 workers): {ratio:.3f} ({(ratio - 1) * 100:+.1f} %) on the medians, per repeat "
                  f"{', '.join(f'{(x - 1) * 100:+.1f} %' for x in dask)} (target within 15 %)."]
    return lines


def arrays(minute_s: float = 60.0) -> list[str]:
    from lim_hw.device.card import default_card
    from lim_hw.sweep.arrays import simulate_array_blocks

    card = default_card().with_updates(schedule={"n_updates": 20})
    runs = [(8, 8, 8, 1), (12, 12, 12, 1), (15, 15, 15, 1), (16, 16, 16, 1),
            (16, 16, 4, 2), (32, 32, 2, 2), (40, 40, 2, 2), (48, 48, 2, 2)]
    lines = ["Default card, 20 updates, batch engine; whole arrays in one process, block-split arrays on "
             "a local pool of 2 workers.", "",
             "| array | synapses | cells | blocks (cols each) | workers | wall (s) | within a minute |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp_name:
        for rows, cols, k, workers in runs:
            ex = make_executor("local", workers)
            ex.start()
            t0 = time.perf_counter()
            try:
                res = simulate_array_blocks(card, rows, cols, k, None, Path(tmp_name) / f"{rows}x{cols}-{k}", ex)
                wall = time.perf_counter() - t0
                n_blocks = len(res.blocks)
                verdict = "yes" if wall <= minute_s else "no"
            except Exception as exc:  # e.g. ngspice's limit on the vectors one `write` can take
                why = str(exc).split("did not finish: ")[-1].split(" -- ")[0]
                wall, n_blocks, verdict = time.perf_counter() - t0, -(-cols // k), f"failed: {why}"[:90]
            finally:
                ex.close()
            log(f"array {rows}x{cols} blocks of {k}: {wall:.1f} s {verdict}")
            lines.append(f"| {rows}x{cols} | {rows * cols} | {2 * rows * cols} | {n_blocks} ({k}) | {workers} | "
                         f"{wall:.1f} | {verdict} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1, help="runs per executor (median reported)")
    ap.add_argument("--arrays", action="store_true", help="measure array size per minute instead")
    args = ap.parse_args()
    print("\n".join(arrays() if args.arrays else throughput(args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
