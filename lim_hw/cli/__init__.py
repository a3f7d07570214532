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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, just that subcommand is registered (and imported).

    Importing every subcommand costs ~0.6 s of numpy/scipy/pandas/matplotlib
    imports, so ``main`` imports only the one being run.
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
        modname = f"{__name__}.{name}_cmd"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only)
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
