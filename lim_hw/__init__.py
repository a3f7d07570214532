"""lim-hw: learning-in-memory (LIM) energy bounds and an ngspice co-design flow
for Fowler-Nordheim dynamic analog memory (FN-DAM).

Stages (imports point one way): theory -> device -> netlist -> sim -> energy -> report.
"""

__version__ = "0.1.0"
