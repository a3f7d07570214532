"""`lim-hw --help` lists every subcommand without importing any of them (start-up, docs/benchmarks.md s.7)."""

from __future__ import annotations

import subprocess
import sys

from lim_hw.cli import COMMAND_HELP, COMMANDS, build_parser


def _helps(parser):
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {a.dest: a.help for a in sub._choices_actions}


def test_stub_help_equals_each_commands_own_help():
    assert tuple(COMMAND_HELP) == COMMANDS
    assert _helps(build_parser(stubs=True)) == _helps(build_parser()) == COMMAND_HELP


def _loaded_after(argv: list[str], watched: str) -> tuple[list[str], str]:
    """Run ``lim-hw argv`` in a fresh interpreter; the modules matching ``watched`` it loaded, and its stdout."""
    code = ("import sys; from lim_hw.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if {watched}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return eval(out.strip().splitlines()[-1]), out


def test_top_level_help_imports_no_subcommand_and_no_numpy():
    loaded, out = _loaded_after(["--help"], "m.startswith('lim_hw.cli.') or m in ('numpy', 'pandas')")
    assert loaded == [] and "simulate a device card in ngspice" in out


def test_bound_imports_no_pandas_scipy_or_matplotlib():
    """`lim-hw bound` (table on stdout) needs numpy only; --csv imports pandas when it writes."""
    loaded, out = _loaded_after(["bound", "--n-updates", "5"], "m in ('pandas', 'scipy', 'matplotlib')")
    assert loaded == [] and "E_diss_total_J" in out
