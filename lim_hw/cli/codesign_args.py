"""Arguments and output handling shared by the co-design commands (``lim-hw train``, ``lim-hw optimize``).

Both take one input file and ``-o DIR`` (replaced if it exists), end with
``--no-ngspice`` and ``--quiet``, refuse an output path that is a file, and
turn a failed write into a one-line :class:`lim_hw.errors.InputError`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError, one_line


def add_codesign_parser(subparsers: argparse._SubParsersAction, name: str, *, help: str, description: str,
                        input_name: str, input_help: str) -> argparse.ArgumentParser:
    """Add subcommand ``name`` with its input file (positional ``input_name``) and ``-o/--output``."""
    p = subparsers.add_parser(name, help=help, description=description)
    p.add_argument(input_name, type=Path, help=input_help)
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory (replaced if it exists)")
    return p


def add_codesign_switches(p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int], *,
                          ngspice_help: str) -> None:
    """Add the closing ``--no-ngspice`` and ``--quiet`` switches and set ``run`` as the command."""
    p.add_argument("--no-ngspice", action="store_true", help=ngspice_help)
    p.add_argument("--quiet", action="store_true", help="print only the line naming the results folder")
    p.set_defaults(func=run)


def check_output_dir(path: Path) -> None:
    """Refuse an output path that exists and is not a directory."""
    if path.exists() and not path.is_dir():
        raise InputError(f"output path {path} exists and is not a directory; choose a directory name")


@contextmanager
def writing_outputs(path: Path) -> Iterator[None]:
    """Turn an OSError while writing the outputs into ``path`` into one InputError line."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"cannot write {path} ({one_line(exc)}); choose a writable directory") from None
