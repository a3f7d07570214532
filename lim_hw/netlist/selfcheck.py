"""Self-check lines of a stand-alone deck: ngspice measures each update itself.

Run by hand with ``ngspice -b deck.cir``, a deck with these lines prints, for
every update ``n``:

- ``e_drawn_<n>``: the energy drawn from all supplies in the update window (J):
  the integral of the positive part of each supply's delivered power ``-v i``,
  summed over the supplies, exactly what the flow reports as ``E_supply_J``
  times ``n_cells_programmed`` in updates.csv (docs/flow.md, energy accounting);
- ``q_tun_<n>``: the charge through the programmed cell's tunnelling junction
  in the window (C), the integral of its sense current: ``N_sim + N_natural``
  electrons (updates.csv ``N_sim`` plus the closed-form natural decay over the
  window, docs/flow.md);
- ``dvfg_<n>``: the floating-gate step that charge makes, ``q_tun_<n> / C_T`` (V).
  (Reading the step off ``v(fg)`` at the window's ends is off by ~0.4 % on the
  default card: ``.meas find`` interpolates linearly between time points that are
  sparse where the gate is still settling from the ~1 V capacitive dip.)

The delivered power is one behavioural source ``bselfcheck`` on its own node
``selfcheck_p`` (its "voltage" is the power in W): it loads nothing, and one
source serves every ``.meas`` (a ``par('...')`` expression inside a ``.meas``
would add a source per line). ngspice skips ``.meas`` when it writes a raw file
(``-r``); the flow's own runs use :func:`lim_hw.netlist.render.render`, which
has neither the source nor the measurements.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import NetlistInjectionError
from .spec import Testbench
from .textfold import fold
from .validate import spice_number, spice_value

POWER_NODE = "selfcheck_p"
_VECTOR = re.compile(r"[vi]\([a-z][a-z0-9_.]{0,63}\)")


def _vector(name: str) -> str:
    if not _VECTOR.fullmatch(name):
        raise NetlistInjectionError(f"invalid vector {name!r} in the self-check: use v(node) or i(source)")
    return name


def power_source(tb: Testbench) -> str:
    """``bselfcheck selfcheck_p 0 v = max(-v(a)*i(va),0) + ...``: drawn power of every supply (W)."""
    terms = " + ".join(f"max(-{_vector(s.v)}*{_vector(s.i)},0)" for s in tb.supplies)
    return f"bselfcheck {POWER_NODE} 0 v = {terms}"


def self_check_lines(tb: Testbench, windows: Sequence[tuple[int, str, float, float]]) -> list[str]:
    """Comment, power source and ``.meas`` lines for ``windows`` = ``(n, half, t_start_s, t_end_s)``.

    Windows that do not end inside the run are left out (ngspice cannot measure them).
    """
    windows = [w for w in windows if 0.0 <= w[2] < w[3] <= tb.tstop_s]
    if not windows or not tb.supplies or not tb.probes:
        return []
    probe_of = {p.half: p for p in reversed(tb.probes)}  # the first probe of each half
    lines = ["", "* --- self-check: `ngspice -b <this file>` prints, per update n,",
             "*     e_drawn_<n>: energy drawn from all supplies in the update window (J) = updates.csv",
             "*                  E_supply_J x n_cells_programmed;",
             "*     q_tun_<n>:   charge through the programmed cell's junction in the window (C)",
             "*                  = (updates.csv N_sim + natural decay in the window) x q;",
             "*     dvfg_<n>:    the floating-gate step it makes, q_tun_<n> / C_T (V)",
             *fold(power_source(tb), 100)]
    for n, half, t_a, t_b in windows:
        probe = probe_of.get(half, tb.probes[0])
        a, b = spice_number(t_a, "window start"), spice_number(t_b, "window end")
        lines += [f".meas tran e_drawn_{int(n)} integ v({POWER_NODE}) from={a} to={b}",
                  f".meas tran q_tun_{int(n)} integ {_vector(probe.current)} from={a} to={b}",
                  f".meas tran dvfg_{int(n)} param='q_tun_{int(n)}/{spice_value(probe.C_T_F, 'C_T')}'"]
    return lines


_MEAS = re.compile(r"^\s*([a-z_]+)_(\d+)\s*=\s*([-+0-9.eE]+)", re.MULTILINE)


def parse_measurements(log: str) -> dict[str, dict[int, float]]:
    """``{"e_drawn": {1: 8.1e-14, ...}, "dvfg": {...}, ...}`` from the output of ``ngspice -b deck.cir``."""
    out: dict[str, dict[int, float]] = {}
    for name, n, value in _MEAS.findall(log):
        out.setdefault(name, {})[int(n)] = float(value)
    return out
