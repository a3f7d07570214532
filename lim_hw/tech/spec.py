"""The ``[technology]`` table of a device card: which technology, which corner, which sizes.

::

    [technology]
    pdk = "sky130"          # "ideal" (behavioural library, the default) or "sky130"
    corner = "tt"           # tt ss ff sf fs, or tt_mm ... fs_mm (the PDK's mismatch, seeded)
    seed = 1                # ngspice random seed of the _mm corners (recorded in every result)
    V_drv_V = 5.0           # driver and level-shifter rail (V)
    W_tun_m = 1e-6          # ... device sizes in metres (sky130 cells take micrometres)

Every key is SI with its unit in the name; sizes are drawn W and L in metres. Only
``pdk`` applies to the ideal technology; a card with ``pdk = "ideal"`` that sets a
sky130 key is refused (it would be silently ignored). Unknown PDKs, corners or keys
give one error line listing the choices (docs/pdk.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from ..checks import checked_number
from ..errors import InputError

PDKS = ("ideal", "sky130")
BASE_CORNERS = ("tt", "ss", "ff", "sf", "fs")
CORNERS = BASE_CORNERS + tuple(f"{c}_mm" for c in BASE_CORNERS)
#: Gate oxide rating of the g5v0d10v5 devices (V): the driver rail may not exceed it.
V_RAIL_MAX_V = 5.5


@dataclass(frozen=True)
class TechnologySpec:
    """``[technology]``: the technology and (for sky130) its corner, rails, read timing and sizes.

    Sizes (drawn, m): ``W/L_tun`` tunnelling MOS capacitor (pfet_g5v0d10v5), ``W/L_cc``
    coupling MIM (cap_mim_m3_1), ``W/L_cg`` floating-gate MIM to ground, ``W/L_ro`` readout
    pfet, ``W/L_drv_n``/``W/L_drv_p`` driver inverter, ``W/L_ls_n``/``W/L_ls_p`` level
    shifter. Rails (V): ``V_drv_V`` driver and level shifter (5 V domain), ``V_logic_V``
    the logic input, ``V_read_V`` the read rail. A read pulse of ``read_width_s`` follows
    every update by ``read_delay_s`` (after the pulse ends); ``read = false`` disables reads.
    """

    pdk: str = "ideal"
    corner: str = "tt"
    seed: int = 1
    V_drv_V: float = 5.0
    V_logic_V: float = 1.8
    V_read_V: float = 3.3
    read: bool = True
    read_width_s: float = 1e-6
    read_delay_s: float = 2e-6
    W_tun_m: float = 1e-6
    L_tun_m: float = 1e-6
    W_cc_m: float = 4.8e-6
    L_cc_m: float = 4.8e-6
    W_cg_m: float = 4.3e-6
    L_cg_m: float = 4.3e-6
    W_ro_m: float = 1e-6
    L_ro_m: float = 1e-6
    W_drv_n_m: float = 1e-6
    L_drv_n_m: float = 0.5e-6
    W_drv_p_m: float = 2e-6
    L_drv_p_m: float = 0.5e-6
    W_ls_n_m: float = 4e-6
    L_ls_n_m: float = 0.5e-6
    W_ls_p_m: float = 0.42e-6
    L_ls_p_m: float = 2e-6

    @property
    def base_corner(self) -> str:
        """The process corner without the mismatch suffix (``tt_mm`` -> ``tt``)."""
        return self.corner.removesuffix("_mm")

    @property
    def mismatch(self) -> bool:
        """True for the ``_mm`` corners (the PDK's per-device mismatch, drawn from ``seed``)."""
        return self.corner.endswith("_mm")

    def is_default(self) -> bool:
        return self == TechnologySpec()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TechnologySpec":
        if not isinstance(d, Mapping):
            raise InputError("[technology] must be a TOML table")
        allowed = [f.name for f in fields(cls)]
        for key in d:
            if key not in allowed:
                raise InputError(f"unknown key [technology] {key}; allowed keys: {', '.join(allowed)}")
        pdk = d.get("pdk", "ideal")
        if pdk not in PDKS:
            raise InputError(f"[technology] pdk = {pdk!r} is not one of {', '.join(PDKS)}")
        extra = sorted(k for k in d if k != "pdk")
        if pdk == "ideal" and extra:
            verb = "apply" if len(extra) > 1 else "applies"
            raise InputError(f"[technology] {', '.join(extra)} only {verb} to pdk = \"sky130\"; the ideal technology "
                             "has no corner or sizes (remove them or set pdk = \"sky130\")")
        corner = d.get("corner", "tt")
        if corner not in CORNERS:
            raise InputError(f"[technology] corner = {corner!r} is not one of {', '.join(CORNERS)}")
        out: dict[str, Any] = {"pdk": pdk, "corner": corner}
        for key, value in d.items():
            if key in ("pdk", "corner"):
                continue
            where = f"[technology] {key}"
            if key == "read":
                if not isinstance(value, bool):
                    raise InputError(f"{where} must be true or false, got {value!r}")
                out[key] = value
            elif key == "seed":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
                    raise InputError(f"{where} must be a whole number 1..2147483647, got {value!r}")
                out[key] = value
            elif key.endswith("_m"):
                out[key] = checked_number(value, where, lo=0.1e-6, hi=100e-6)
            elif key == "V_drv_V":
                out[key] = checked_number(value, where, positive=True, hi=V_RAIL_MAX_V)
            elif key in ("V_logic_V", "V_read_V"):
                out[key] = checked_number(value, where, positive=True, hi=V_RAIL_MAX_V)
            else:
                out[key] = checked_number(value, where, positive=True, hi=1.0)
        spec = cls(**out)
        if spec.V_drv_V < spec.V_logic_V:
            raise InputError(f"[technology] V_drv_V = {spec.V_drv_V:g} V is below the logic level V_logic_V = "
                             f"{spec.V_logic_V:g} V: the level shifter cannot shift down; raise V_drv_V (3..5.5 V)")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (only ``pdk`` for the ideal technology)."""
        if self.pdk == "ideal":
            return {"pdk": "ideal"}
        return {f.name: getattr(self, f.name) for f in fields(self)}
