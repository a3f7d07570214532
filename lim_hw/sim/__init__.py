"""Simulation stage: run an ngspice transient and return the requested waveforms.

One interface, :func:`simulate`, over interchangeable engines (see docs/simulation.md):

- ``"batch"`` (default): one ``ngspice -b`` subprocess per run, binary raw file.
- ``"shared"``: libngspice via PySpice in a reusable worker subprocess.

Failures raise :class:`SimulationError` subclasses (all :class:`lim_hw.errors.LimHwError`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lim_hw.errors import InputError

from . import batch, shared
from .control import check_netlist, engine_deck, netlist_sha256, validate_vectors
from .errors import (ConvergenceError, NetlistError, NgspiceNotFoundError, RawFileError,
                     SimulationError, SimulationTimeoutError, UnknownVectorError)
from .types import EngineRun, SimResult

__all__ = [
    "ENGINES", "SimResult", "EngineRun", "simulate",
    "SimulationError", "NgspiceNotFoundError", "ConvergenceError", "NetlistError",
    "UnknownVectorError", "SimulationTimeoutError", "RawFileError",
]

Engine = Callable[..., EngineRun]
"""``engine(netlist, vectors, *, timeout_s, workdir) -> EngineRun``."""

ENGINES: dict[str, Engine] = {"batch": batch.run, "shared": shared.run}


def simulate(netlist: str | os.PathLike, vectors: Sequence[str], engine: str = "batch",
             timeout_s: float = 600.0, workdir: Path | None = None,
             progress: Callable[[float], None] | None = None) -> SimResult:
    """Run the transient in ``netlist`` and return ``vectors`` over time.

    Args:
        netlist: a complete ngspice deck without ``.control`` block: title line
            first, elements, models/subcircuits/includes, ``.options``, ``.ic``,
            ``.tran ... [uic]``, optionally ``.save``/``.meas`` lines and a closing
            ``.end`` (dropped: the engine appends its own control and ``.end``).
            Text needs absolute ``.include`` paths; a deck file (a ``Path``, e.g.
            what ``lim-hw netlist`` wrote) may include relative to its folder.
        vectors: names to return, lower case: ``v(node)``, ``v(a,b)``, ``i(vname)``
            (ngspice branch current: positive INTO the source's + terminal),
            ``@dev[param]`` (e.g. ``@b1[i]``); subcircuit paths with dots (``v(x1.fg)``).
        engine: ``"batch"`` (default) or ``"shared"`` (see :data:`ENGINES`).
        timeout_s: wall-clock limit [s]; ngspice is killed when it is reached.
        workdir: an existing directory to hold the engine's temporary directory
            (removed afterwards); default: the system temporary directory.
        progress: called with the simulated time [s] as ngspice reports it
            (batch engine; the shared engine ignores it).

    Returns:
        :class:`SimResult` (time, vectors, log, ngspice version, netlist sha256, ...).

    Raises:
        InputError: bad arguments (vector names, engine, timeout, workdir, deck lines).
        SimulationError: or its subclasses NgspiceNotFoundError, NetlistError,
            UnknownVectorError, ConvergenceError, SimulationTimeoutError, RawFileError.
    """
    start = time.perf_counter()
    if engine not in ENGINES:
        raise InputError(f"unknown simulation engine {engine!r}; use one of {sorted(ENGINES)}")
    names = validate_vectors(vectors)
    base_dir = None
    if isinstance(netlist, os.PathLike):
        path = Path(netlist)
        try:
            netlist = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the deck {path}: {exc}; give an existing ngspice deck file") from None
        base_dir = path.resolve().parent
    check_netlist(netlist, base_dir)
    try:
        timeout = float(timeout_s)
    except (TypeError, ValueError):
        timeout = math.nan
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InputError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if workdir is not None:
        workdir = Path(workdir)
        if not workdir.is_dir():
            raise InputError(f"workdir {str(workdir)!r} is not an existing directory; create it "
                             "or leave workdir unset")
    kwargs = {"progress": progress} if progress is not None and engine == "batch" else {}
    run = ENGINES[engine](engine_deck(netlist, base_dir), names, timeout_s=timeout, workdir=workdir, **kwargs)
    return SimResult(time_s=run.time_s, vectors=dict(zip(names, run.vectors)), log=run.log,
                     ngspice_version=run.ngspice_version, netlist_sha256=netlist_sha256(netlist),
                     engine=engine, wall_s=time.perf_counter() - start)
