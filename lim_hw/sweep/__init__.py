"""Parameter and Monte Carlo sweeps of the flow, on a local process pool or Dask (docs/sweeps.md).

- :mod:`.spec`: sweep files (base card, grid axes, Monte Carlo mismatch) -> points;
- :mod:`.executors`: ``make_executor(kind, workers, scheduler)`` with ``map_unordered``;
- :mod:`.runner`: ``run_sweep`` (plan, run the missing points, stream, tabulate), ``run_point``;
- :mod:`.store`: the sweep directory (``points.jsonl``, ``points/<key16>/``, ``sweep.csv``);
- :mod:`.plots`: summary plots per axis and Monte Carlo histograms;
- :mod:`.arrays`: large arrays as independent column blocks (``simulate_array_blocks``).
"""

from .arrays import ArrayResult, simulate_array_blocks
from .executors import WorkerCrashedError, make_executor
from .runner import SweepResult, run_point, run_sweep
from .spec import SweepSpec, load_sweep, sample_mismatch, sweep_from_dict

__all__ = ["make_executor", "WorkerCrashedError", "run_sweep", "run_point", "SweepResult", "SweepSpec",
           "load_sweep", "sweep_from_dict", "sample_mismatch", "simulate_array_blocks", "ArrayResult"]
