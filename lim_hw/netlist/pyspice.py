"""Bridge to PySpice's circuit object model, for designers who extend testbenches in Python.

:func:`to_pyspice` turns a :class:`~lim_hw.netlist.spec.Testbench` into a
``PySpice.Spice.Netlist.Circuit`` (sources, resistors, subcircuit instances and
the library include); a user adds or changes elements with PySpice's API, and
:func:`pyspice_deck` renders the circuit back into a deck for
:func:`lim_hw.sim.simulate`, with the testbench's ``.ic``, ``.options`` and
``.tran`` lines (which PySpice keeps on its simulator object, not the circuit).
PySpice is imported only when this module is used.
"""

from __future__ import annotations

from pathlib import Path

from .render import LIBRARY_FILE, render
from .spec import VCVS, Instance, ISource, Resistor, Testbench, VSource
from .validate import spice_element_name, spice_name, spice_node, spice_path


def to_pyspice(tb: Testbench, library: Path | str = LIBRARY_FILE):
    """A PySpice ``Circuit`` with the elements of ``tb`` (names and nodes validated)."""
    from PySpice.Spice.Netlist import Circuit

    spice_path(library)
    circuit = Circuit(tb.title)
    circuit.include(str(library))
    for e in tb.elements:
        if isinstance(e, VSource):
            name = spice_element_name(e.name, "v", "source name")[1:]
            plus, minus = spice_node(e.n_plus), spice_node(e.n_minus)
            if e.pulse is not None:
                v1, v2, td, tr, tf, pw, per = (float(x) for x in e.pulse)
                circuit.PulseVoltageSource(name, plus, minus, initial_value=v1, pulsed_value=v2, delay_time=td,
                                           rise_time=tr, fall_time=tf, pulse_width=pw, period=per)
            elif e.pwl is not None:
                circuit.PieceWiseLinearVoltageSource(name, plus, minus,
                                                     values=[(float(t), float(v)) for t, v in e.pwl])
            else:
                circuit.V(name, plus, minus, float(e.dc_V))
        elif isinstance(e, ISource):
            i1, i2, td, tr, tf, pw, per = (float(x) for x in e.pulse)
            circuit.PulseCurrentSource(spice_element_name(e.name, "i", "current source name")[1:], spice_node(e.n_plus),
                                       spice_node(e.n_minus), initial_value=i1, pulsed_value=i2, delay_time=td,
                                       rise_time=tr, fall_time=tf, pulse_width=pw, period=per)
        elif isinstance(e, VCVS):
            circuit.VCVS(spice_element_name(e.name, "e", "VCVS name")[1:], spice_node(e.n_plus), spice_node(e.n_minus),
                         spice_node(e.c_plus), spice_node(e.c_minus), voltage_gain=float(e.gain))
        elif isinstance(e, Resistor):
            circuit.R(spice_element_name(e.name, "r", "resistor name")[1:], spice_node(e.a), spice_node(e.b), float(e.ohm))
        elif isinstance(e, Instance):
            params = {spice_name(k, "parameter"): float(v) for k, v in e.params}
            circuit.X(spice_element_name(e.name, "x", "instance name")[1:], spice_name(e.subckt, "subcircuit"),
                      *(spice_node(n) for n in e.nodes), **params)
        else:  # pragma: no cover - the spec has no other element types
            raise TypeError(f"cannot convert {type(e).__name__}")
    return circuit


def pyspice_deck(circuit, tb: Testbench) -> str:
    """Deck text for :func:`lim_hw.sim.simulate`: the PySpice circuit plus ``tb``'s analysis lines."""
    body = [ln for ln in str(circuit).splitlines() if not ln.lower().startswith((".title", ".end"))]
    analysis = [ln for ln in render(tb).splitlines() if ln.startswith((".ic", ".options", ".tran"))]
    return "\n".join([f"* {tb.title} (via PySpice)", *body, *analysis]) + "\n"
