"""Fast vectorised FN-DAM array model (numpy): millions of cells under a programming schedule.

:func:`simulate_fast` is the entry point (``engine = "fast"``); the physics and
its accuracy against ngspice are in docs/fast-model.md.
"""

from .energy import (DriveConstants, bias_edge_energy_J, drive_constants, driver_energy_per_pulse_J,
                     effective_drive_capacitance_F, fn_charge_energy_J, ramp_dissipation_factor,
                     ramp_dissipation_J)
from .model import (BLOCK_SYNAPSES, DEFAULT_CHUNK_SYNAPSES, FAST_UPDATE_COLUMNS, FastResult,
                    cell_k_constants, simulate_fast)

__all__ = [
    "simulate_fast", "FastResult", "FAST_UPDATE_COLUMNS", "BLOCK_SYNAPSES", "DEFAULT_CHUNK_SYNAPSES",
    "cell_k_constants", "DriveConstants", "drive_constants", "effective_drive_capacitance_F",
    "ramp_dissipation_factor", "ramp_dissipation_J", "driver_energy_per_pulse_J", "bias_edge_energy_J",
    "fn_charge_energy_J",
]
