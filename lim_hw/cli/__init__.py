"""The ``lim-hw`` command: one entry point, one module per subcommand.

Each subcommand module ``lim_hw.cli.<name>`` defines ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed
arguments and returning an exit code. The command line is a thin layer over
the Python API. User errors (:class:`lim_hw.errors.LimHwError`) print one line
``lim-hw: error: ...`` and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import Sequence

from .. import __version__
from ..errors import LimHwError, one_line

#: Subcommand modules, in the order they appear in ``lim-hw --help``.
COMMANDS = ("run", "bound", "project", "netlist", "simulate", "fit", "sweep", "regress",
            "train", "optimize")

#: The one-line help of every subcommand, for ``lim-hw --help`` without importing them
#: (tests/test_cli_startup.py checks these equal the modules' own).
COMMAND_HELP = {
    "run": "simulate the built-in default card into ./lim-hw-out/ and print the energy-vs-bound table",
    "bound": "per-update LIM barrier/energy bound for a schedule (Performance Walls Eqs. 1-7)",
    "project": "brain-scale training-energy projection: LIM vs Landauer vs conventional",
    "netlist": "generate an ngspice testbench from a device card",
    "simulate": "simulate a device card in ngspice and compare energy with the LIM bound",
    "fit": "fit retention, FN I-V or programming-response data and write a device card",
    "sweep": "run a parameter / Monte Carlo sweep of device cards in parallel",
    "regress": "run the regression suite of reference designs against a stored baseline",
    "train": "train a classifier on FN-DAM synapses; accuracy and energy vs the LIM bound",
    "optimize": "optimise pulse amplitude, width and ramp for minimum energy per update",
}


def build_parser(only: str | None = None, stubs: bool = False) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, just that subcommand is registered (and imported).

    Importing every subcommand costs ~0.6 s of numpy/scipy/pandas/matplotlib
    imports, so ``main`` imports only the one being run. ``stubs=True`` registers
    every subcommand by name and :data:`COMMAND_HELP` only, importing none of them:
    what ``lim-hw --help`` (or no or an unknown command) needs.
    """
    parser = argparse.ArgumentParser(
        prog="lim-hw",
        description="LIM energy bounds and an ngspice co-design flow for FN dynamic analog memory.",
    )
    parser.add_argument("--version", action="version", version=f"lim-hw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            continue
        if stubs and only is None:
            sub.add_parser(name, help=COMMAND_HELP[name])
            continue
        modname = f"{__name__}.{name}_cmd"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only, stubs=only is None)   # no command given: nothing to import
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LimHwError as exc:
        print(f"lim-hw: error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lim-hw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
