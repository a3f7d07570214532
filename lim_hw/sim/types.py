"""Plain data passed out of the simulation stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EngineRun:
    """What an engine hands back to :func:`lim_hw.sim.simulate` (before bookkeeping).

    ``vectors`` holds one 1-D float64 array per requested vector, in request order,
    each as long as ``time_s``.
    """

    time_s: np.ndarray
    vectors: tuple[np.ndarray, ...]
    log: str
    ngspice_version: str


@dataclass(frozen=True)
class SimResult:
    """Transient waveforms from one ngspice run.

    Attributes:
        time_s: simulation time points [s], non-decreasing. ngspice 39 leaves out
            the t = 0 point when the .tran line has ``uic``.
        vectors: requested vector name (lower case, exactly as requested, e.g.
            ``"v(fg)"``, ``"i(vdrv)"``, ``"@b1[i]"``) -> values [V or A] at ``time_s``.
            Branch currents ``i(vname)`` follow ngspice's sign convention: positive
            when current flows into the source's + terminal (see lim_hw.energy.integrate).
        log: captured ngspice output (stdout and stderr, progress lines removed).
        ngspice_version: e.g. ``"ngspice-39"``.
        netlist_sha256: sha256 (hex) of the netlist text as given to ``simulate``.
        engine: ``"batch"`` or ``"shared"``.
        wall_s: wall-clock seconds of the whole ``simulate`` call.

    Treat the arrays as read-only.
    """

    time_s: np.ndarray
    vectors: dict[str, np.ndarray]
    log: str
    ngspice_version: str
    netlist_sha256: str
    engine: str
    wall_s: float

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with a ``time_s`` column and one column per vector (request order)."""
        data = {"time_s": self.time_s}
        data.update(self.vectors)
        return pd.DataFrame(data, copy=False)

    def __getitem__(self, name: str) -> np.ndarray:
        """``result["v(fg)"]`` is ``result.vectors["v(fg)"]``."""
        return self.vectors[name]
