"""lim-hw: learning-in-memory (LIM) energy bounds and an ngspice co-design flow
for Fowler-Nordheim dynamic analog memory (FN-DAM).

Stages (imports point one way): theory -> device -> netlist -> sim -> energy -> report.

For notebooks::

    import lim_hw
    card = lim_hw.default_card()
    res = lim_hw.run_flow(card, None)            # in memory; or a folder to write the outputs
    res = lim_hw.load_result("lim-hw-out")       # a run directory read back

The names below are imported on first use, so ``import lim_hw`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: name -> module that defines it (imported on first access).
_LAZY = {"load_result": "lim_hw.results", "RunResult": "lim_hw.results", "run_flow": "lim_hw.flow",
         "FlowResult": "lim_hw.flow", "default_card": "lim_hw.device.card", "load_card": "lim_hw.device.card"}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .device.card import default_card, load_card
    from .flow import FlowResult, run_flow
    from .results import RunResult, load_result


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lim_hw' has no attribute {name!r}")
