"""Explicit size caps, checked before any work starts (docs/safety.md lists them with their measurements).

Each cap was sized from a measurement on the 2-core development machine
(numbers in docs/safety.md); beyond it a run would take hours or exhaust memory
instead of failing with one clear line.
"""

from __future__ import annotations

import os

from .errors import InputError

#: Synapses (rows x cols) of an array simulated in ngspice or written as a netlist: 128 x 128.
#: ngspice costs ~0.07 s per synapse (docs/benchmarks.md): ~19 min; its netlist ~7 MB.
MAX_ARRAY_SYNAPSES_NGSPICE = 16384
#: Synapses of an array in the fast engine: 1000 x 1000 took 12.5 s and 135 MiB.
MAX_ARRAY_SYNAPSES_FAST = 1_000_000
#: Updates of one ngspice run: 2000 took 12.4 s growing as ~n^1.7, so 20000 ~ 10 min (the default timeout_s).
MAX_UPDATES_NGSPICE = 20_000
#: Updates of one fast-engine run: 1e5 took ~4 min and 336 MiB.
MAX_UPDATES_FAST = 100_000
#: Updates of ``lim-hw bound``: 1e6 took 2 s and 215 MiB (1e9 exhausted memory).
MAX_UPDATES_BOUND = 1_000_000
#: Data rows of a ``lim-hw fit`` CSV: 1e5 rows took 15 s and 1.4 GiB (1e6: 70 s and 13 GiB).
MAX_CSV_ROWS = 100_000
#: Bytes of a CSV input (fit data, schedule tables): 1e5 rows of a decay trace are ~2.8 MB.
MAX_CSV_BYTES = 16 << 20
#: Worker processes allowed with an explicit --oversubscribe, per CPU.
OVERSUBSCRIBE_PER_CPU = 16


def cpus() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_workers(n: int | None, option: str, oversubscribe: bool = False) -> None:
    """Refuse more worker processes than CPUs (unless ``oversubscribe``, then 16 per CPU)."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"{option} {n!r} must be >= 1 (a positive integer)")
    limit = cpus() * (OVERSUBSCRIBE_PER_CPU if oversubscribe else 1)
    if n > limit:
        hint = (f"use at most {limit}" if oversubscribe else
                f"use at most {limit} (the CPUs here), or add --oversubscribe to allow up to "
                f"{limit * OVERSUBSCRIBE_PER_CPU}")
        raise InputError(f"{option} {n} is more than this machine can run at once; {hint}")


def check_run_size(n_updates: int, engine: str, array: tuple[int, int] | None = None) -> None:
    """Refuse a run whose updates or array size pass the engine's cap (before any synthesis)."""
    fast = engine == "fast"
    max_updates = MAX_UPDATES_FAST if fast else MAX_UPDATES_NGSPICE
    if n_updates > max_updates:
        raise InputError(f"{n_updates} updates are more than the {engine} engine's limit of {max_updates} per run; "
                         + ("split the schedule into shorter runs" if fast else
                            "split the schedule into shorter runs or use --engine fast"))
    if array is not None:
        check_array(array, "fast" if fast else "ngspice")


def check_array(array: tuple[int, int], where: str = "ngspice") -> None:
    """Refuse an array of more synapses than ``where`` ("ngspice" or "fast") can take."""
    rows, cols = array
    limit = MAX_ARRAY_SYNAPSES_FAST if where == "fast" else MAX_ARRAY_SYNAPSES_NGSPICE  # netlist: ngspice's
    if rows * cols > limit:
        raise InputError(f"--array {rows}x{cols} has {rows * cols} synapses, more than the {where} limit of {limit}"
                         + ("; use --engine fast (up to 1000x1000) or a smaller array" if where != "fast"
                            else "; use a smaller array"))
