"""Checking one user-given number (from TOML, CSV or flags) with a one-line error."""

from __future__ import annotations

import math
from typing import Any

from .errors import InputError


def _short(value: Any) -> str:
    """``repr(value)`` cut to 60 characters (a 400-digit number or a long string stays readable)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to print
        return "a huge integer"
    return text if len(text) <= 60 else text[:57] + "..."


def checked_number(value: Any, where: str, *, positive: bool = False, nonneg: bool = False,
                   lo: float | None = None, hi: float | None = None) -> float:
    """``value`` as a finite float, or :class:`InputError` naming ``where`` (e.g. ``[device] tox_m``).

    Booleans and strings are refused (TOML ``true`` is not 1), as are NaN and inf,
    and values outside the given bounds.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where} must be a number, got {_short(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise InputError(f"{where} is an integer too large for a float (about 10^{value.bit_length() * 0.30103:.0f}); "
                         "give a value in SI units") from None
    if not math.isfinite(v):
        raise InputError(f"{where} is {v}; give a finite number")
    if positive and v <= 0:
        raise InputError(f"{where} = {v:g} must be > 0; give a positive value in SI units")
    if nonneg and v < 0:
        raise InputError(f"{where} = {v:g} must be >= 0; give a non-negative value in SI units")
    if lo is not None and v < lo:
        raise InputError(f"{where} = {v:g} is below the allowed minimum {lo:g}")
    if hi is not None and v > hi:
        raise InputError(f"{where} = {v:g} is above the allowed maximum {hi:g}")
    return v
