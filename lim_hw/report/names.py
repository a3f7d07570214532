"""Column names with SI units for saved ngspice vectors."""

from __future__ import annotations

import re

_V = re.compile(r"v\(([^()]+)\)")
_I = re.compile(r"i\(([^()]+)\)")


def vector_column(vector: str) -> str:
    """``v(fg)`` -> ``V_fg_V``; ``v(a,b)`` -> ``V_a_b_V``; ``i(v.x1.xj.vsns)`` -> ``I_v_x1_xj_vsns_A``."""
    m = _V.fullmatch(vector)
    if m:
        return "V_" + re.sub(r"[^a-z0-9]+", "_", m.group(1)) + "_V"
    m = _I.fullmatch(vector)
    if m:
        return "I_" + re.sub(r"[^a-z0-9]+", "_", m.group(1)) + "_A"
    return re.sub(r"[^A-Za-z0-9]+", "_", vector).strip("_")
