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
