"""Versions recorded in every result file the tool writes."""

from __future__ import annotations

import functools
import platform
import shutil
import sys

import numpy as np

from . import __version__


@functools.lru_cache(maxsize=1)
def ngspice_version() -> str:
    """Version line of the ngspice on PATH (e.g. ``ngspice-39``), or ``"not found"``."""
    exe = shutil.which("ngspice")
    if exe is None:
        return "not found"
    from .sim.batch import binary_version  # own process group, bounded wait, bytes decoded safely

    return binary_version(exe)


def versions() -> dict[str, str]:
    """Versions of lim-hw, Python, numpy and ngspice, for result files."""
    return {
        "lim_hw": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "ngspice": ngspice_version(),
        "platform": platform.platform(),
    }


def csv_header_comment() -> str:
    """A ``# key=value`` comment line naming the versions, for the top of CSV files."""
    return "# " + " ".join(f"{k}={v}" for k, v in versions().items() if k != "platform") + "\n"
