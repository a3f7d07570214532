"""The ``lim-hw`` command: one entry point, one module per subcommand.

Each subcommand module ``lim_hw.cli.<name>`` defines ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed
arguments and returning an exit code. The command line is a thin layer over
the Python API.

Exit codes and messages (docs/safety.md): bad input -- a
:class:`lim_hw.errors.LimHwError`, an argparse error, or an ``OSError``,
decode error, overflow or too-deep recursion caused by the input -- prints one
line ``lim-hw: error: ...`` (at most :data:`lim_hw.errors.MAX_ERROR_CHARS`
characters) and exits 2. SIGTERM/SIGHUP stop every ngspice and worker, remove
temporary files and exit 128 + signal; Ctrl-C exits 130. A closed stdout (``| head``)
ends quietly. Any other exception is an internal error: one line, exit 70;
``LIM_HW_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import signal
import sys
import threading
from typing import Iterator, NoReturn, Sequence

from .. import __version__
from ..errors import InputError, LimHwError, Terminated, capped

#: Subcommand modules, in the order they appear in ``lim-hw --help``.
COMMANDS = ("run", "bound", "project", "netlist", "simulate", "fit", "sweep", "regress",
            "train", "optimize")
DEBUG_ENV = "LIM_HW_DEBUG"
EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE
#: Errors that, escaping a command, come from what the user gave it (a file, a number).
INPUT_FAULTS = (OSError, UnicodeError, OverflowError, RecursionError, MemoryError)


class UsageError(InputError):
    """A command-line argument argparse refused."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (``--help`` still prints the usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see `{self.prog} --help`")

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
    parser = Parser(
        prog="lim-hw",
        description="LIM energy bounds and an ngspice co-design flow for FN dynamic analog memory.",
    )
    parser.add_argument("--version", action="version", version=f"lim-hw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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


def _error(message: str) -> None:
    print(f"lim-hw: error: {capped(message)}", file=sys.stderr)


def _stop_children() -> None:
    """Kill every ngspice and the shared-engine worker of this process (signal-handler safe)."""
    batch, shared = sys.modules.get("lim_hw.sim.batch"), sys.modules.get("lim_hw.sim.shared")
    if batch is not None:
        batch.kill_all()
    if shared is not None:
        shared.kill_worker_now()


#: The signal that stopped the current command (set by the handler; read by :func:`main` and :func:`entry`).
_FIRED: list[int] = []


@contextlib.contextmanager
def _termination() -> Iterator[list[int]]:
    """SIGTERM/SIGHUP raise :class:`Terminated`, SIGINT KeyboardInterrupt, after killing the children.

    The exception may be swallowed where Python ignores exceptions (an at-fork hook, a
    ``__del__``); the signal is still recorded in the yielded list, the children are
    dead, and :func:`main` reports the termination whatever the command then raised.
    """
    fired = _FIRED
    fired.clear()
    if threading.current_thread() is not threading.main_thread():
        yield fired
        return

    def on_signal(signum: int, frame: object) -> None:
        _stop_children()
        if fired:
            return  # cleanup is running: let it finish
        fired.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    def unraisable(info) -> None:
        # the signal's exception swallowed by Python (an at-fork hook, a __del__): already recorded in
        # ``fired`` and reported by main as one line, so no "Exception ignored ... Traceback" block
        if fired and isinstance(info.exc_value, (Terminated, KeyboardInterrupt)):
            return
        old_hook(info)

    sigs = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, on_signal) for s in sigs}
    old_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield fired
    finally:
        sys.unraisablehook = old_hook
        for s, handler in old.items():
            signal.signal(s, handler)
        batch = sys.modules.get("lim_hw.sim.batch")
        if batch is not None:
            batch.reset_termination()


def _quiet_broken_pipe() -> None:
    """stdout was closed by the reader (``| head``): drop what is buffered, say nothing."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    debug = bool(os.environ.get(DEBUG_ENV))
    with _termination() as fired:
        try:
            parser = build_parser(only, stubs=only is None)   # no command given: nothing to import
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 2
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
            return _terminated(fired[0]) if fired and fired[0] != signal.SIGINT else code
        except BaseException as exc:
            if fired and not isinstance(exc, (SystemExit, KeyboardInterrupt)):
                return _terminated(fired[0])  # whatever the command raised once its children were killed
            code = _failure(exc, debug)
            if code is None:
                raise
            return code


def _terminated(signum: int) -> int:
    print(f"lim-hw: terminated by {signal.Signals(signum).name}; temporary files removed", file=sys.stderr)
    return 128 + signum


def _failure(exc: BaseException, debug: bool) -> int | None:
    """The exit code for an exception escaping a command (after printing its line), None to re-raise."""
    try:
        raise exc
    except LimHwError:
        _error(str(exc))
        return exc.exit_code
    except Terminated as term:
        return _terminated(term.signum)
    except KeyboardInterrupt:
        _stop_children()
        print("lim-hw: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 141  # as if killed by SIGPIPE, the shell convention
    except INPUT_FAULTS as fault:
        if debug:
            return None
        _error(f"{_describe(fault)}; check the input files and paths (rerun with {DEBUG_ENV}=1 for the traceback)")
        return 2
    except Exception as bug:  # a bug: say so in one line
        if debug:
            return None
        _error(f"internal error ({type(bug).__name__}: {bug}); please report it -- rerun with "
               f"{DEBUG_ENV}=1 for the traceback")
        return EXIT_INTERNAL
    except BaseException:  # SystemExit (--help, --version)
        return None


def entry() -> None:
    """The console script: :func:`main`, then exit -- at once after a termination signal.

    After SIGTERM/SIGHUP the children are dead and the temporary files gone; exit
    handlers still run, but threads that would keep the interpreter alive (a module
    import in the background) are not waited for.
    """
    code = main()
    if _FIRED and _FIRED[0] != signal.SIGINT:
        import atexit

        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{exc.strerror}" + (f": {where!r}" if where != "" else "")
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory (input too large)"
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":  # pragma: no cover
    entry()
