"""User-facing errors.

Every error a user can cause derives from :class:`LimHwError`. Its message is one
line that names the problem and the fix; the command line prints it as
``lim-hw: error: <message>`` and exits with :attr:`LimHwError.exit_code`.
"""

from __future__ import annotations


class LimHwError(Exception):
    """Base class: a problem the user can fix. Message = one line, problem + fix."""

    exit_code = 2


class InputError(LimHwError, ValueError):
    """Bad user input: malformed file, NaN, out-of-range value, unknown key."""


class NetlistInjectionError(InputError):
    """A name or value would have put a SPICE directive or control command in a netlist."""


def one_line(text: str) -> str:
    """Collapse whitespace so an error message is printed on one line."""
    return " ".join(str(text).split())


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind (cleanup handlers run) and exit with 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: Longest error line printed; longer messages keep their start and their end (the fix).
MAX_ERROR_CHARS = 300


def capped(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``one_line(text)`` cut to ``limit`` characters, eliding the middle (the fix stays visible)."""
    line = one_line(text)
    if len(line) <= limit:
        return line
    tail = limit * 2 // 5
    return line[:limit - tail - 7] + " [...] " + line[-tail:]
