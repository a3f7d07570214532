"""lim-hw: learning-in-memory (LIM) energy bounds and an ngspice co-design flow
for Fowler-Nordheim dynamic analog memory (FN-DAM).

Stages (imports point one way): theory -> device -> netlist -> sim -> energy -> report.
"""

__version__ = "0.1.0"


def circuits_dir():
    """The circuit library (``lim_hw.lib`` and its subcircuits) of the running installation -> Path.

    An installed lim-hw (wheel, ``pip install .``) carries it as ``lim_hw/circuits/``;
    a source checkout (and the editable install ``make install`` makes) uses the
    top-level ``circuits/``, the canonical copy designers ``.include``.
    """
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for candidate in (here / "circuits", here.parent / "circuits"):
        if (candidate / "lim_hw.lib").is_file():
            return candidate
    raise FileNotFoundError(f"the lim-hw circuit library is missing (looked in {here / 'circuits'} and "
                            f"{here.parent / 'circuits'}); reinstall lim-hw")
