"""Shared helpers for the benchmarks: timing, peak memory, machine description."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIM_HW = [sys.executable, "-m", "lim_hw"]


def timed_run(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS of the child in MB).

    Peak RSS is measured with wait4 on this very child, so earlier runs do not count.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-500:]}")
    return wall, usage.ru_maxrss / 1024.0


def median_runs(cmd: list[str], repeats: int, cwd: Path | None = None) -> tuple[float, float, list[float]]:
    """Median wall time, max peak RSS (MB) and all wall times of ``repeats`` runs."""
    walls, rss = [], []
    for _ in range(repeats):
        w, r = timed_run(cmd, cwd)
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), max(rss), walls


def machine() -> str:
    """One line naming the machine, CPU count, Python and ngspice."""
    try:
        ng = subprocess.run(["ngspice", "-v"], capture_output=True, text=True).stdout
        ng = next((ln.strip(" *") for ln in ng.splitlines() if "ngspice-" in ln), "ngspice ?")
    except OSError:
        ng = "ngspice not found"
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, {ng.split(':')[0]}")


def self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
