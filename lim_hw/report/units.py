"""Numbers for people: engineering notation with SI prefixes and units, one helper for every output.

``eng(4.6384e-14, "J")`` is ``"46.4 fJ"``, ``eng(12e-9, "m")`` is ``"12.0 nm"``,
``eng(1e-12, "m2")`` is ``"1.00 µm²"``, ``kelvin(26.85, from_celsius=True)`` is
``"300.00 K"``; dimensionless numbers use :func:`sci` (``"1.74×10⁶"``). Plots
scale an axis with :func:`axis_unit` (``tox`` values in nm, no ``1e-8`` offset)
and name card keys with :func:`key_label`.
"""

from __future__ import annotations

import math

_PREFIXES = {-24: "y", -21: "z", -18: "a", -15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "",
             3: "k", 6: "M", 9: "G", 12: "T"}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

#: Unit suffix of a lim-hw name -> (printed unit, power of the length-like base unit, takes SI prefixes).
UNIT_SUFFIXES: dict[str, tuple[str, int, bool]] = {
    "m2": ("m²", 2, True), "m": ("m", 1, True), "F": ("F", 1, True), "s": ("s", 1, True),
    "V": ("V", 1, True), "A": ("A", 1, True), "J": ("J", 1, True), "C": ("C", 1, True), "W": ("W", 1, True),
    "ohm": ("Ω", 1, True), "eV": ("eV", 1, False), "K": ("K", 1, False), "per_s": ("s⁻¹", 1, False),
    "kT": ("kT", 1, False),
}

#: Card keys (without section) -> what a designer calls them.
KEY_NAMES = {
    "tox_m": "oxide thickness t_ox", "area_m2": "junction area", "C_T_F": "floating-gate capacitance C_T",
    "C_c_F": "coupling capacitance C_c", "C_j_F": "junction capacitance C_j", "V0_V": "initial oxide voltage V0",
    "V_tun_V": "tunnelling bias V_tun", "phi_B_eV": "barrier height φ_B", "m_eff": "effective mass m*/m0",
    "T_K": "temperature", "R_max_per_s": "R_max", "pulse_width_s": "pulse width", "period_s": "update period",
    "first_update_s": "first update at", "rise_s": "edge time", "R_drv_ohm": "driver resistance R_drv",
    "precision_bits": "precision (bits)", "n_updates": "updates", "eps0": "initial learning rate eps0",
    "n0": "n0", "alpha": "alpha", "grad": "gradient |g|", "shape": "pulse shape",
}


def _exponent3(x: float, power: int = 1) -> int:
    """Engineering exponent (a multiple of 3, within the prefix table) for ``|x|`` in units^power."""
    if x == 0 or not math.isfinite(x):
        return 0
    e = 3 * math.floor(math.log10(abs(x)) / (3 * power) + 1e-9)
    return max(-24, min(12, e))


def eng(value: float | None, unit: str = "", digits: int = 3, trim: bool = False) -> str:
    """``value`` in engineering notation with an SI prefix and ``unit``, ``digits`` significant digits.

    ``unit`` is a lim-hw unit suffix (``"J"``, ``"m"``, ``"m2"``, ``"ohm"``, ...; see
    :data:`UNIT_SUFFIXES`) or any other text, printed as is after the prefix.
    ``trim`` drops trailing zeros (tick labels: ``10 fJ``, not ``10.0 fJ``).
    ``None``/NaN print as ``"n/a"``. Examples: ``eng(4.6384e-14, "J") == "46.4 fJ"``,
    ``eng(1e-12, "m2") == "1.00 µm²"``, ``eng(1e5, "ohm") == "100 kΩ"``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    x = float(value)
    if not math.isfinite(x):
        return f"{'-' if x < 0 else ''}∞ {unit}".rstrip()
    shown, power, prefixed = UNIT_SUFFIXES.get(unit, (unit, 1, True))
    if x == 0:
        return f"0 {shown}".rstrip()
    if not prefixed and not 1e-2 <= abs(x) < 1e4:
        return f"{sci(x, digits)} {shown}".rstrip()
    e = _exponent3(x, power) if prefixed else 0
    if unit == "s" and e > 0:
        e = 0  # 1000 s, not 1.00 ks
    text = _fixed(x / 10.0 ** (e * power), digits)
    if prefixed and abs(float(text)) >= 1000 and e < 12 and not (unit == "s" and e >= 0):  # 999.96 fJ -> 1.00 pJ
        e += 3
        text = _fixed(x / 10.0 ** (e * power), digits)
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {_PREFIXES[e] if prefixed else ''}{shown}".rstrip()


def _int_digits(x: float) -> int:
    """Digits before the decimal point (0 or less for |x| < 1: 0.306 -> 0, 0.0123 -> -1)."""
    return 1 if x == 0 else int(math.floor(math.log10(abs(x)))) + 1


def _fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant digits in fixed notation (trailing zeros kept: 46.0, 12.0)."""
    decimals = max(digits - _int_digits(x), 0)
    if decimals and _int_digits(round(x, decimals)) > _int_digits(x):
        decimals -= 1  # 9.996 -> 10.0, not 10.00
    return f"{x:.{decimals}f}"


def sci(value: float | None, digits: int = 3) -> str:
    """A dimensionless number: plain for 0.01 <= |x| < 1000, else ``m×10ⁿ`` (``sci(1.74e6) == "1.74×10⁶"``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    x = float(value)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else f"{'-' if x < 0 else ''}∞"
    if 1e-2 <= abs(x) < 1e3:
        return _fixed(x, digits)
    e = int(math.floor(math.log10(abs(x))))
    m = x / 10.0 ** e
    if round(abs(m), digits - 1) >= 10:
        e, m = e + 1, m / 10
    return f"{m:.{digits - 1}f}×10{str(e).translate(_SUPERSCRIPT)}"


def percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: ``percent(0.078) == "7.8 %"``; tiny ones stay readable (``4.5×10⁻⁵ %``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{sci(100.0 * float(value), digits)} %"


def kelvin(value: float, from_celsius: bool = False) -> str:
    """A temperature in K with two decimals (ngspice's ``temp`` option is in °C: 26.85 -> ``"300.00 K"``)."""
    return f"{float(value) + (273.15 if from_celsius else 0.0):.2f} K"


def split_unit(name: str) -> tuple[str, str]:
    """``"tox_m"`` -> ``("tox", "m")``; ``"R_max_per_s"`` -> ``("R_max", "per_s")``; no known suffix -> ``(name, "")``."""
    for suffix in sorted(UNIT_SUFFIXES, key=len, reverse=True):
        if name.endswith("_" + suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix) - 1], suffix
    return name, ""


def axis_unit(values, unit: str) -> tuple[float, str]:
    """``(factor, label)``: plot ``values * factor`` on an axis labelled in ``label`` (e.g. ``(1e9, "nm")``).

    The prefix is chosen from the largest magnitude, so tick labels are plain
    numbers (11.5, 12.0, 12.5 nm) rather than an offset of ``1e-8``.
    """
    shown, power, prefixed = UNIT_SUFFIXES.get(unit, (unit, 1, False))
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v)) and float(v) != 0]
    if not prefixed or not finite:
        return 1.0, shown
    e = _exponent3(max(finite), power)
    return 10.0 ** (-e * power), f"{_PREFIXES[e]}{shown}"


def key_label(key: str, values=()) -> tuple[str, float]:
    """Axis label and scale factor for a card key (``"device.tox_m"`` -> ``("oxide thickness t_ox (nm)", 1e9)``)."""
    field = key.split(".")[-1]
    base, unit = split_unit(field)
    name = KEY_NAMES.get(field, base)
    if not unit:
        return name, 1.0
    factor, shown = axis_unit(values, unit)
    return f"{name} ({shown})", factor


def column_label(column: str) -> str:
    """A table column name for people: ``"E_supply_J"`` -> ``"E_supply (J)"``."""
    base, unit = split_unit(column)
    return f"{base} ({UNIT_SUFFIXES[unit][0]})" if unit else column

