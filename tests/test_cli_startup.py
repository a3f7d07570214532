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


def test_top_level_help_imports_no_subcommand_and_no_numpy():
    code = ("import sys; from lim_hw.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('lim_hw.cli.') or m in ('numpy', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "simulate a device card in ngspice" in out


def test_bound_imports_no_pandas_scipy_or_matplotlib():
    """`lim-hw bound` (table on stdout) needs numpy only; --csv imports pandas when it writes."""
    code = ("import sys; from lim_hw.cli import main\n"
            "assert main(['bound', '--n-updates', '5']) == 0\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "E_diss_total_J" in out
