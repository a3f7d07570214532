"""Benchmark 4: peak memory of a 10,000-point sweep (parent process and workers).

The points are cheap on purpose so that the sweep machinery, not the physics, is
measured: ``analysis = "bound"`` (the LIM bound table of each card, no ngspice),
a 100 x 100 grid over ``schedule.eps0`` x ``schedule.alpha``. Every point still
goes through everything a simulated point does: planning (card, content key),
the executor, one fsynced line in points.jsonl, its own directory (bound.csv),
and the final sweep.csv and plots. A sampler thread reads the resident set size
(RSS) of this process and of every descendant (fork server, workers) every
50 ms. Target: peak under 500 MB.

Prints a markdown table on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from lim_hw.sweep.executors import make_executor
from lim_hw.sweep.runner import run_sweep
from lim_hw.sweep.spec import sweep_from_dict

MB = 2**20


class Sampler(threading.Thread):
    """Peak RSS of this process and of the largest descendant; peak PSS of all of them together.

    PSS (proportional set size) splits pages shared by several processes (the fork
    server's preloaded modules in every worker) among them, so the sum counts memory once.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.me = psutil.Process()
        self.peak_parent = self.peak_child = self.peak_total_pss = 0
        self.max_children = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss, pss = [], []
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    info = p.memory_full_info()
                except psutil.Error:  # the process ended meanwhile
                    continue
                rss.append(info.rss if p is not self.me else 0)
                pss.append(info.pss)
                if p is self.me:
                    self.peak_parent = max(self.peak_parent, info.rss)
            self.peak_child = max([self.peak_child, *rss])
            self.peak_total_pss = max(self.peak_total_pss, sum(pss))
            self.max_children = max(self.max_children, len(rss) - 1)
            self._halt.wait(self.interval_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=100, help="grid side (points = side^2; default 100)")
    ap.add_argument("--executor", choices=("local", "dask"), default="local")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    n = args.side
    spec = sweep_from_dict({
        "sweep": {"name": "memory", "analysis": "bound"},
        "grid": {"schedule.eps0": {"start": 0.05, "stop": 0.5, "num": n},
                 "schedule.alpha": {"start": 0.05, "stop": 0.95, "num": n}},
    })
    rss_before = psutil.Process().memory_info().rss
    sampler = Sampler()
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp_name:
        t0 = time.perf_counter()
        with make_executor(args.executor, args.workers) as ex:
            res = run_sweep(spec, Path(tmp_name) / "sweep", executor=ex, progress=True)
            desc = ex.describe()
        wall = time.perf_counter() - t0
        n_dirs = sum(1 for _ in (Path(tmp_name) / "sweep" / "points").iterdir())
    sampler.stop()
    ru_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    parent = max(sampler.peak_parent, ru_self)
    ok = max(parent, sampler.peak_child, sampler.peak_total_pss) < 500 * MB
    print(f"{res.n_points} points of analysis \"bound\" (LIM bound table per card, no ngspice) on {desc}; "
          f"{res.n_ok} ok, {res.n_failed} failed, {n_dirs} point directories.\n")
    print("| points | wall (s) | points/s | parent RSS before (MB) | parent peak RSS (MB) | "
          "largest worker peak RSS (MB) | all processes peak PSS (MB) | processes | under 500 MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {res.n_points} | {wall:.1f} | {res.n_points / wall:.0f} | {rss_before / MB:.0f} | {parent / MB:.0f} | "
          f"{sampler.peak_child / MB:.0f} | {sampler.peak_total_pss / MB:.0f} | 1 + {sampler.max_children} | "
          f"{'yes' if ok else 'NO'} |")
    print("\nThe parent's peak includes the final table and plots; the processes are the parent, the fork "
          "server, its workers, the resource tracker and short-lived `ngspice -v` calls (provenance).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
