"""Results of a run, read back for a notebook: ``lim_hw.load_result(dir)``.

::

    import lim_hw
    res = lim_hw.load_result("lim-hw-out")
    res.updates[["n", "E_supply_J", "E_bound_J"]]     # updates.csv (pandas)
    res.summary["ratio_supply_to_bound_median"]        # summary.json
    res.synthesis["V_p_V"]                             # synthesis.csv
    res.waveforms["v(fg)"], res.waveforms.time_s       # waveforms.raw, indexed by ngspice name
    res.headline                                       # the sentence at the top of report.html

Waveforms are read when first used (a large array's raw file is only read if
asked for); an array simulated in column blocks has one raw file per block
(``res.waveform_files``, ``res.block_waveforms(name)``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .sim.rawfile import RawPlot, read_raw


@dataclass
class RunResult:
    """One run directory of ``lim-hw simulate``/``run`` (or :func:`lim_hw.flow.run_flow`)."""

    path: Path
    summary: dict[str, Any]
    updates: pd.DataFrame
    synthesis: pd.DataFrame
    files: list[str] = field(default_factory=list)

    @property
    def waveform_files(self) -> list[str]:
        """``waveforms.raw``, or one ``waveforms_c<first>-<last>.raw`` per column block."""
        return sorted(f for f in self.files if f.startswith("waveforms") and f.endswith(".raw"))

    @cached_property
    def waveforms(self) -> RawPlot:
        """The simulated vectors by ngspice name (``res.waveforms["v(fg)"]``; the first block's for a blocked array)."""
        names = self.waveform_files
        if not names:
            raise InputError(f"{self.path} has no waveforms.raw (the run used --no-waveforms or the fast "
                             "engine); rerun with waveforms to read them")
        return read_raw(self.path / ("waveforms.raw" if "waveforms.raw" in names else names[0]))

    def block_waveforms(self, name: str) -> RawPlot:
        """The raw file ``name`` of one column block (see :attr:`waveform_files`)."""
        if name not in self.waveform_files:
            raise InputError(f"no waveform file {name!r} in {self.path}; it has {', '.join(self.waveform_files)}")
        return read_raw(self.path / name)

    @property
    def headline(self) -> str:
        """The headline sentence of the run (as in report.html and on the terminal)."""
        from .report.headline import headline

        return headline(self.summary)

    @property
    def netlist(self) -> Path:
        """The stand-alone deck that was simulated (``ngspice -b`` it to see its self-check)."""
        return self.path / "netlist.cir"


def _csv(path: Path) -> pd.DataFrame:
    # comment="#": run directories written before updates.csv became plain CSV began with a
    # "# lim_hw=..." line; plain files read the same way.
    return pd.read_csv(path, comment="#") if path.is_file() else pd.DataFrame()


def load_result(path: str | os.PathLike) -> RunResult:
    """Read a run directory (updates.csv, summary.json, synthesis.csv; waveforms.raw on first use).

    Raises :class:`lim_hw.errors.InputError` if ``path`` is not a run directory.
    """
    path = Path(path)
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise InputError(f"{path} is not a lim-hw run directory (no summary.json); give the -o folder of "
                         "`lim-hw simulate` or `lim-hw run`")
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {summary_file}: {exc}; rerun the simulation") from None
    files = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return RunResult(path, summary, _csv(path / "updates.csv"), _csv(path / "synthesis.csv"), files)
