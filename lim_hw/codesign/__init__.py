"""Co-design on top of the flow: on-device training and energy-optimal programming schedules.

- :mod:`lim_hw.codesign.train`: online training of a linear classifier whose
  weights are differential FN-DAM synapses (gradients in Python, updates as
  programming pulses on a device model with mismatch and intrinsic decay),
  with energy per parameter beside the LIM bound, Landauer and a digital
  update, and an ngspice re-simulation of a window of updates.
- :mod:`lim_hw.codesign.optimize`: a constrained optimiser (scipy SLSQP) for
  pulse amplitude, width and ramp time, on the vectorised closed-form pulse
  model (charge, tunnelling energy, drawn/net source energy) of
  :mod:`~lim_hw.codesign.pulse_model` (one pulse), :mod:`~lim_hw.codesign.schedule`
  (a schedule of pulses, designs) and :mod:`~lim_hw.codesign.ngspice_check`
  (ngspice re-simulation); ``lim_hw.codesign.optimize`` re-exports them all.
- :mod:`lim_hw.codesign.datasets`: data generated in code.

See docs/codesign.md.
"""

from .datasets import Dataset, DataSpec, gaussian_classes, make_dataset
from .optimize import (CellModel, Design, OptimizeResult, PulseEval, PulseTiming, design_card, design_from_card,
                       design_table, evaluate_design, ngspice_check_design, optimize_schedule, pulse_eval,
                       run_schedule, schedule_targets, solve_amplitudes, solve_schedule, write_optimize_outputs)
from .train import (CONVENTIONAL_SOURCE, CONVENTIONAL_UPDATE_J, TrainConfig, TrainResult, load_train_config,
                    ngspice_check_training, train, train_config_from_dict, write_train_outputs)

__all__ = [
    "Dataset", "DataSpec", "gaussian_classes", "make_dataset",
    "CellModel", "PulseTiming", "PulseEval", "pulse_eval", "solve_amplitudes", "run_schedule", "solve_schedule",
    "Design", "OptimizeResult", "schedule_targets", "design_from_card", "evaluate_design", "optimize_schedule",
    "design_card", "design_table", "ngspice_check_design", "write_optimize_outputs",
    "CONVENTIONAL_UPDATE_J", "CONVENTIONAL_SOURCE", "TrainConfig", "TrainResult", "load_train_config",
    "train_config_from_dict", "train", "ngspice_check_training", "write_train_outputs",
]
