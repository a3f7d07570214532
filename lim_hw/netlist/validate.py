"""The only way a name or a number enters a netlist.

SPICE is line oriented: a newline, a leading ``.`` or ``*``, a ``;`` comment or a
``{`` expression inside a value could smuggle a directive or a ``.control``
command into a deck. Every identifier is matched against a strict pattern and
every number is formatted by us from a finite float, so no user string is ever
interpolated as-is.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ..errors import NetlistInjectionError

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_PATH_SAFE_RE = re.compile(r"[A-Za-z0-9_./+-]+")


def spice_name(value: Any, what: str = "name") -> str:
    """Validate a node/element/subcircuit name: lower-case letter, then ``[a-z0-9_]``, <= 32 chars."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise NetlistInjectionError(
            f"invalid {what} {value!r} for a netlist: use 1-32 characters a-z, 0-9, _ starting with a letter")
    return value


def spice_element_name(value: Any, letter: str, what: str) -> str:
    """A :func:`spice_name` that starts with its SPICE element letter (``v``, ``i``, ``e``, ``r``, ``x``).

    The first letter is the element type to ngspice (and PySpice adds it itself),
    so a name with another letter would render as a different element.
    """
    if not isinstance(value, str) or not value.startswith(letter):
        raise NetlistInjectionError(f"invalid {what} {value!r} for a netlist: it must start with {letter!r}")
    return spice_name(value, what)


def spice_node(value: Any) -> str:
    """Validate a node name: ``0`` (ground) or a :func:`spice_name`."""
    return "0" if value == "0" else spice_name(value, "node")


#: Significant digits of a circuit value (:func:`spice_value`): far below ngspice's reltol (1e-6) and
#: the synthesis' sensitivity (a pulse amplitude 5e-13 off moves the step by ~2e-11 relative).
VALUE_DIGITS = 12


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NetlistInjectionError(f"invalid {what} {value!r} for a netlist: must be a plain number")
    x = float(value)
    if not math.isfinite(x):
        raise NetlistInjectionError(f"invalid {what} {x} for a netlist: must be finite")
    return x


def _plain(text: str) -> str:
    """``1000.0`` -> ``1000``, ``1e-09`` -> ``1e-9``: the same number, fewer characters."""
    mantissa, e, exp = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + (f"e{int(exp)}" if e else "")


def spice_number(value: Any, what: str = "value") -> str:
    """Format a finite real number exactly for SPICE: the shortest decimal that round-trips, no unit suffix.

    For times (pulse delays, window edges, PWL points): an edge 1 ns after t = 1000 s needs
    13 digits, and shifting it would change what is simulated.
    """
    return _plain(repr(_finite(value, what)))


def spice_value(value: Any, what: str = "value") -> str:
    """Format a circuit value (voltage, resistance, capacitance, device parameter) with
    :data:`VALUE_DIGITS` significant digits: ``4.8000000000000004e-14`` is written ``4.8e-14``."""
    return _plain(f"{_finite(value, what):.{VALUE_DIGITS}g}")


def spice_path(path: Path | str, what: str = "include path") -> str:
    """Quote a file path for ``.include``; only plain path characters are allowed."""
    text = str(path)
    if not _PATH_SAFE_RE.fullmatch(text):
        raise NetlistInjectionError(
            f"{what} {text!r} contains characters not allowed in a netlist; move the files to a plain path "
            "(letters, digits, _ . / + -)")
    return f'"{text}"'


def spice_title(text: str) -> str:
    """A title/comment line: printable ASCII without newlines (anything else is replaced by '_')."""
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in str(text))[:120]
