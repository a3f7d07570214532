"""Netlist generation: programming-voltage synthesis, testbenches as data, ngspice text.

Typical use::

    from lim_hw.device.card import default_card
    from lim_hw.netlist import synthesize, build_testbench, render
    card = default_card()
    table = synthesize(card)                  # one row per update
    tb = build_testbench(card, table, "cell")  # plain data
    deck = render(tb)                          # ngspice text (no .control/.end)
"""

from .generate import NetlistArtifacts, generate, parse_array
from .render import CIRCUITS_DIR, LIBRARY_FILE, render, render_file
from .spec import Testbench, array_testbench, build_testbench, cell_testbench, synapse_testbench
from .synthesis import synthesize

__all__ = ["CIRCUITS_DIR", "LIBRARY_FILE", "NetlistArtifacts", "Testbench", "array_testbench",
           "build_testbench", "cell_testbench", "generate", "parse_array", "render", "render_file",
           "synapse_testbench", "synthesize"]
