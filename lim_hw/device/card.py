"""Device cards: a TOML file describing one FN-DAM design and its training run.

A card has four tables, every key SI with its unit in the name::

    [device]       tox_m, area_m2, C_T_F, C_c_F, C_j_F, V0_V, V_tun_V,
                   phi_B_eV, m_eff, T_K, R_max_per_s, fn_model, image_force
    [schedule]     the theory schedule (lim_hw.theory.ScheduleSpec keys)
    [programming]  pulse_width_s, period_s, first_update_s, shape, rise_s, R_drv_ohm
    [simulation]   duration_s, reltol, abstol_A, vntol_V, chgtol_C, method,
                   engine, timeout_s, max_step_s, array_block_synapses, tracking_tol,
                   retention_tol, energy_closure_tol, charge_closure_tol, refine

A card with ``schedule.n_updates = 0`` describes a pure retention (decay) run.
Loading validates everything: unknown keys, wrong types, NaN/inf, negative or
zero sizes, inconsistent capacitances. Errors are one line naming the key and
the fix (:class:`lim_hw.errors.InputError`).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from ..checks import checked_number
from ..errors import InputError
from ..tech.spec import TechnologySpec
from ..tomlfile import read_toml
from ..theory.schedules import ScheduleSpec


def _check_number(section: str, key: str, value: Any, **bounds: Any) -> float:
    return checked_number(value, f"[{section}] {key}", **bounds)


def _check_choice(section: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"[{section}] {key} = {value!r} is not one of {', '.join(choices)}")
    return value


def geometry_C_j_F(area_m2: float, tox_m: float) -> float:
    """Junction capacitance from the geometry: ``eps_ox area / t_ox`` with ``eps_ox = 3.9 eps_0`` (F).

    The static permittivity of SiO2 (the junction's small-signal capacitance; the image
    force uses the optical 2.15, docs/device.md s.7). 2.8776e-15 F for 1 um^2, 12 nm.
    """
    from .fn_law import EPS0_F_PER_M, EPS_R_STATIC

    return EPS_R_STATIC * EPS0_F_PER_M * float(area_m2) / float(tox_m)


@dataclass(frozen=True)
class DeviceParams:
    """FN-DAM cell parameters (SI).

    ``C_T_F`` is the total floating-gate capacitance, of which ``C_c_F`` is the
    control-gate coupling capacitor and ``C_j_F`` the tunnelling-junction
    capacitance; the rest (``C_T - C_c - C_j``) goes to ground. ``C_j_F = None``
    (a card without the key) is computed from the geometry, ``eps_ox area / t_ox``
    with the static ``eps_ox = 3.9 eps_0`` (2.8776 fF for 1 um^2 and 12 nm; docs/device.md
    s.9); :attr:`C_j_from_geometry` tells which.
    ``V0_V`` is the oxide voltage (tunnelling node minus floating gate) at t = 0;
    ``V_tun_V`` the DC bias of the tunnelling node, so the floating gate starts
    at ``V_tun_V - V0_V``. ``R_max_per_s`` is the barrier-free transition rate
    that sets the LIM update-rate schedule (theory.md s.1, s.7).
    ``fn_model`` is ``"thermal"`` (default: the FN current carries the Murphy-Good
    thermal factor at ``T_K``) or ``"classic"`` (the T = 0 K law, kept for
    comparison); ``image_force`` adds Murphy-Good image-force barrier lowering
    (default off). See docs/device.md s.6-7. ``inj_I_s_A``, ``inj_beta``,
    ``inj_V_inj_V``: the behavioural hot-electron injector used when
    ``[programming] decrease = "injection"`` (``I_inj = I_s beta exp(-V_inj/V_ds)``,
    docs/device.md s.11).
    """

    tox_m: float = 12e-9
    area_m2: float = 1e-12
    C_T_F: float = 100e-15
    C_c_F: float = 50e-15
    C_j_F: float | None = None
    V0_V: float = 8.0
    V_tun_V: float = 10.0
    phi_B_eV: float = 3.2
    m_eff: float = 0.42
    T_K: float = 300.0
    R_max_per_s: float = 5e4
    fn_model: str = "thermal"
    image_force: bool = False
    inj_I_s_A: float = 1e-7
    inj_beta: float = 1.0
    inj_V_inj_V: float = 60.0

    FN_MODELS = ("thermal", "classic")

    def __post_init__(self) -> None:
        if self.C_j_F is None:   # resolved once; the flag survives only through card_to_dict's omission
            object.__setattr__(self, "C_j_F", geometry_C_j_F(self.area_m2, self.tox_m))
            object.__setattr__(self, "_C_j_geometry", True)

    @property
    def C_j_from_geometry(self) -> bool:
        """True when ``C_j_F`` was computed as ``eps_ox area / t_ox`` (the card left the key out)."""
        return bool(self.__dict__.get("_C_j_geometry", False))

    @property
    def kappa(self) -> float:
        """Control-gate coupling ratio C_c / C_T (dimensionless)."""
        return self.C_c_F / self.C_T_F

    @property
    def C_fg_F(self) -> float:
        """Floating-gate capacitance to ground, C_T - C_c - C_j (F)."""
        return self.C_T_F - self.C_c_F - self.C_j_F

    @property
    def V_fg0_V(self) -> float:
        """Initial floating-gate voltage V_tun - V0 (V)."""
        return self.V_tun_V - self.V0_V

    def ckT(self, V_ox_V: float) -> float:
        """Thermal-factor argument ``c kT`` at oxide voltage ``V_ox_V`` (0 for the classic law; docs/device.md s.6)."""
        from .fn import fn_coefficients
        from .fn_law import ckT_field

        if V_ox_V <= 0:
            return float("inf")
        _, B = fn_coefficients(self.phi_B_eV, self.m_eff)
        return float(ckT_field(self.law, V_ox_V / self.tox_m, float(B)))

    def check_operating_point(self, V_ox_V: float, where: str) -> None:
        """InputError when ``c kT`` at ``V_ox_V`` exceeds the thermal law's validity limit (0.8)."""
        from .fn_law import CKT_VALID_MAX

        if self.fn_model != "thermal":
            return
        x = self.ckT(V_ox_V)
        if x > CKT_VALID_MAX:
            raise InputError(
                f"[device] {where}: at V_ox = {V_ox_V:.4g} V the thermal FN factor's c kT = {x:.3g} exceeds "
                f"{CKT_VALID_MAX:g} (the Murphy-Good formula diverges at 1, where over-barrier transport takes "
                "over); raise V0_V, thin tox_m, lower T_K, or set fn_model = \"classic\"")

    @property
    def law(self):
        """The FN law of this device (:class:`lim_hw.device.fn_law.FNLaw`)."""
        from .fn_law import FNLaw

        return FNLaw.from_device(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DeviceParams":
        vals = _known(d, cls, "device")
        limits: dict[str, dict[str, float | bool]] = {
            "tox_m": {"lo": 1e-9, "hi": 1e-7},
            "area_m2": {"positive": True, "hi": 1e-6},
            "C_T_F": {"positive": True, "hi": 1e-9},
            "C_c_F": {"nonneg": True},
            "C_j_F": {"nonneg": True},
            "V0_V": {"lo": 0.5, "hi": 50.0},
            "V_tun_V": {"lo": -50.0, "hi": 50.0},
            "phi_B_eV": {"lo": 0.5, "hi": 10.0},
            "m_eff": {"lo": 0.01, "hi": 10.0},
            "T_K": {"lo": 1.0, "hi": 1000.0},
            "R_max_per_s": {"positive": True},
            "inj_I_s_A": {"positive": True, "hi": 1e-3},
            "inj_beta": {"positive": True},
            "inj_V_inj_V": {"positive": True, "hi": 1e3},
        }
        out: dict[str, Any] = {}
        for k, v in vals.items():
            if k == "fn_model":
                out[k] = _check_choice("device", k, v, cls.FN_MODELS)
            elif k == "image_force":
                if not isinstance(v, bool):
                    raise InputError(f"[device] image_force = {v!r} must be true or false")
                out[k] = v
            else:
                out[k] = _check_number("device", k, v, **limits[k])  # type: ignore[arg-type]
        dev = cls(**out)
        dev.check_operating_point(dev.V0_V, "V0_V")
        if dev.C_c_F + dev.C_j_F > dev.C_T_F:
            how = (f" (C_j_F = eps_ox area/tox = {dev.C_j_F:g} F from the geometry: give C_j_F, or a larger "
                   "C_T_F for this area)" if dev.C_j_from_geometry else "")
            raise InputError(
                f"[device] C_c_F + C_j_F = {dev.C_c_F + dev.C_j_F:g} F exceeds C_T_F = {dev.C_T_F:g} F{how}; "
                "C_T_F is the total floating-gate capacitance and must include both")
        return dev


@dataclass(frozen=True)
class ProgrammingSpec:
    """How updates are applied: control-gate pulses through a driver resistance.

    Update n (1-based) starts at ``first_update_s + (n-1) * period_s`` and lasts
    ``pulse_width_s`` (flat top). ``shape`` is ``rectangular`` (edges of
    ``rise_s``, meant to be fast against the driver RC) or ``ramped`` (linear
    edges of ``rise_s``, meant to be slow: adiabatic charging). ``R_drv_ohm`` is
    the driver's output resistance, where the switching dissipation happens.
    ``precision_bits`` is the weight precision each update writes; it sets the
    Landauer reference ``precision_bits * kT ln 2`` per update. ``decrease`` says how an
    update with a negative gradient lowers the weight: ``"pair"`` (default) pulses the
    - half of a differential synapse (one-way tunnelling in each half), ``"injection"``
    injects electrons into the same floating gate with a hot-electron injector
    (docs/device.md s.11; ngspice engines, cell and synapse testbenches).
    """

    pulse_width_s: float = 10e-3
    period_s: float = 10.0
    first_update_s: float = 1000.0
    shape: str = "rectangular"
    rise_s: float = 1e-9
    R_drv_ohm: float = 1e5
    precision_bits: float = 8.0
    decrease: str = "pair"

    SHAPES = ("rectangular", "ramped")
    DECREASES = ("pair", "injection")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ProgrammingSpec":
        vals = _known(d, cls, "programming")
        out: dict[str, Any] = {}
        for k, v in vals.items():
            if k == "shape":
                out[k] = _check_choice("programming", k, v, cls.SHAPES)
            elif k == "decrease":
                out[k] = _check_choice("programming", k, v, cls.DECREASES)
            elif k == "first_update_s":
                out[k] = _check_number("programming", k, v, nonneg=True)
            else:
                out[k] = _check_number("programming", k, v, positive=True)
        spec = cls(**out)
        if spec.pulse_width_s + 2 * spec.rise_s >= spec.period_s:
            raise InputError(
                f"[programming] pulse_width_s + 2*rise_s = {spec.pulse_width_s + 2 * spec.rise_s:g} s "
                f"does not fit in period_s = {spec.period_s:g} s; lengthen the period or shorten the pulse")
        return spec

    def update_start_s(self, n: int) -> float:
        """Start time of update n (1-based) in seconds."""
        return self.first_update_s + (n - 1) * self.period_s


@dataclass(frozen=True)
class SimulationSpec:
    """Transient-analysis settings. ``duration_s = 0`` means: end one period after the last update.

    ``stochastic`` (fast engine only): Poisson electron counts per update and in free decay,
    drawn with ``seed`` (:mod:`lim_hw.fast.stochastic`, docs/device.md s.10).
    """

    duration_s: float = 0.0
    reltol: float = 1e-6
    abstol_A: float = 1e-21
    vntol_V: float = 1e-9
    chgtol_C: float = 1e-22
    method: str = "gear"
    engine: str = "batch"
    timeout_s: float = 600.0
    max_step_s: float = 0.0
    array_block_synapses: int = 64
    tracking_tol: float = 1e-4
    retention_tol: float = 1e-5
    energy_closure_tol: float = 1e-3
    charge_closure_tol: float = 1e-4
    refine: bool = True
    stochastic: bool = False
    seed: int = 0

    METHODS = ("gear", "trap")
    ENGINES = ("batch", "shared", "fast")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SimulationSpec":
        vals = _known(d, cls, "simulation")
        out: dict[str, Any] = {}
        for k, v in vals.items():
            if k == "stochastic":
                if not isinstance(v, bool):
                    raise InputError(f"[simulation] stochastic = {v!r} must be true or false")
                out[k] = v
            elif k == "seed":
                n = _check_number("simulation", k, v, nonneg=True)
                if isinstance(v, float) or n != int(n):
                    raise InputError(f"[simulation] seed = {v!r} must be a whole number >= 0")
                out[k] = int(n)
            elif k == "method":
                out[k] = _check_choice("simulation", k, v, cls.METHODS)
            elif k == "engine":
                out[k] = _check_choice("simulation", k, v, cls.ENGINES)
            elif k == "array_block_synapses":
                n = _check_number("simulation", k, v, nonneg=True)
                if isinstance(v, float) or n != int(n):
                    raise InputError(f"[simulation] {k} = {v!r} must be a whole number of synapses "
                                     "(0 = simulate an array in one ngspice run)")
                out[k] = int(n)
            elif k in ("duration_s", "max_step_s"):
                out[k] = _check_number("simulation", k, v, nonneg=True)
            elif k == "refine":
                if not isinstance(v, bool):
                    raise InputError(f"[simulation] refine = {v!r} must be true or false (re-run with finer steps "
                                     "when a self-check fails)")
                out[k] = v
            elif k.endswith("_tol"):
                out[k] = _check_number("simulation", k, v, positive=True, hi=1.0)
            elif k == "reltol":
                out[k] = _check_number("simulation", k, v, positive=True, hi=0.1)
            else:
                out[k] = _check_number("simulation", k, v, positive=True)
        return cls(**out)


@dataclass(frozen=True)
class Card:
    """A complete device card: device, schedule, programming and simulation."""

    device: DeviceParams = field(default_factory=DeviceParams)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    programming: ProgrammingSpec = field(default_factory=ProgrammingSpec)
    simulation: SimulationSpec = field(default_factory=SimulationSpec)
    name: str = "card"
    technology: TechnologySpec = field(default_factory=TechnologySpec)

    @property
    def n_updates(self) -> int:
        return int(self.schedule.n_updates)

    @property
    def stop_time_s(self) -> float:
        """End of the transient (s): ``duration_s`` or one period after the last update."""
        if self.simulation.duration_s > 0:
            return self.simulation.duration_s
        if self.n_updates == 0:
            raise InputError("[simulation] duration_s is required for a retention card (schedule.n_updates = 0)")
        return self.programming.update_start_s(self.n_updates) + self.programming.period_s

    def with_updates(self, **sections: Mapping[str, Any]) -> "Card":
        """A copy with some keys replaced, e.g. ``card.with_updates(device={"tox_m": 12.2e-9})``.

        The result is validated as if loaded from TOML.
        """
        d = card_to_dict(self)
        for sec, vals in sections.items():
            if sec not in SECTIONS:
                raise InputError(f"unknown card section [{sec}]; use one of {', '.join(SECTIONS)}")
            d[sec] = {**d.get(sec, {}), **dict(vals)}
        if d.get("technology", {}).get("pdk") == "sky130":  # values the ideal card had are not the user's
            asked = dict(sections.get("device", {}))
            d["device"] = {k: v for k, v in d["device"].items() if k not in DERIVED_BY_PDK or k in asked}
        return card_from_dict(d, name=self.name)


SECTIONS = ("device", "schedule", "programming", "simulation", "technology")
#: [device] keys that a sky130 cell derives from its sizes and the model files (docs/pdk.md).
DERIVED_BY_PDK = ("tox_m", "area_m2", "C_T_F", "C_c_F", "C_j_F")




def _known(d: Mapping[str, Any], cls: type, section: str) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise InputError(f"[{section}] must be a TOML table")
    allowed = [f.name for f in fields(cls)]
    for key in d:
        if key not in allowed:
            raise InputError(f"unknown key [{section}] {key}; allowed keys: {', '.join(allowed)}")
    return dict(d)


def card_from_dict(d: Mapping[str, Any], name: str = "card", base_dir: Path | None = None,
                   defaults: bool = True) -> Card:
    """Build and validate a :class:`Card` from a parsed TOML mapping.

    Keys left out take the values of the built-in default card (``defaults=True``),
    so a card only needs to say what differs from it.
    """
    for key in d:
        if key not in SECTIONS:
            raise InputError(f"unknown card section [{key}]; allowed sections: {', '.join(SECTIONS)}")
    _check_derived(d)
    if defaults:
        base = _default_card_dict()
        for sec, vals in d.items():
            if not isinstance(vals, Mapping):
                raise InputError(f"[{sec}] must be a TOML table")
        d = {sec: {**_section_defaults(base, sec, d.get(sec, {})), **d.get(sec, {})} for sec in SECTIONS}
    card = Card(
        device=DeviceParams.from_dict(d.get("device", {})),
        schedule=ScheduleSpec.from_dict(d.get("schedule", {}), base_dir=base_dir),
        programming=ProgrammingSpec.from_dict(d.get("programming", {})),
        simulation=SimulationSpec.from_dict(d.get("simulation", {})),
        name=name,
        technology=TechnologySpec.from_dict(d.get("technology", {})),
    )
    card.stop_time_s  # validates duration for retention cards
    if card.n_updates > 0 and card.simulation.duration_s > 0:
        last_end = card.programming.update_start_s(card.n_updates) + card.programming.pulse_width_s \
            + 2 * card.programming.rise_s
        if card.simulation.duration_s < last_end:
            raise InputError(
                f"[simulation] duration_s = {card.simulation.duration_s:g} s ends before the last update "
                f"finishes at {last_end:g} s; lengthen it or set it to 0 (automatic)")
    return card


def _check_derived(d: Mapping[str, Any]) -> None:
    """A sky130 card may not set what the sky130 cell derives (one error line naming the key)."""
    tech, dev = d.get("technology", {}), d.get("device", {})
    if isinstance(tech, Mapping) and tech.get("pdk") == "sky130" and isinstance(dev, Mapping):
        given = [k for k in DERIVED_BY_PDK if k in dev]
        if given:
            raise InputError(f"[device] {', '.join(given)} of a sky130 card come from its [technology] sizes and the "
                             "model files (oxide thickness from the model, capacitances extracted by ngspice); "
                             "remove them and set W_*/L_* in [technology] instead")


def _section_defaults(base: Mapping[str, Any], sec: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Default values of one section; a user table schedule drops the default n_updates."""
    vals = dict(base.get(sec, {}))
    if sec == "schedule" and given.get("kind", vals.get("kind")) == "table":
        vals.pop("n_updates", None)
    return vals


@functools.lru_cache(maxsize=1)
def _default_card_raw() -> str:
    return default_card_path().read_text(encoding="utf-8")


def _default_card_dict() -> dict[str, Any]:
    return tomllib.loads(_default_card_raw())


def load_card(path: str | Path, defaults: bool = True) -> Card:
    """Read and validate a TOML device card (missing keys from the default card)."""
    path = Path(path)
    data, _ = read_toml(path, "card")
    return card_from_dict(data, name=path.stem, base_dir=path.parent, defaults=defaults)


def default_card_path() -> Path:
    """Path of the documented default card shipped inside the package."""
    return Path(str(resources.files("lim_hw") / "data" / "default_card.toml"))


def default_card() -> Card:
    """The built-in default card (reference FN-DAM device of theory.md s.5)."""
    card = card_from_dict(_default_card_dict(), name="default", defaults=False)
    return card


def card_to_dict(card: Card) -> dict[str, dict[str, Any]]:
    """Plain mapping of a card (round-trips through :func:`card_from_dict`).

    A ``C_j_F`` computed from the geometry is left out (so ``with_updates`` of the
    area or oxide recomputes it); :func:`device_derived` lists it.
    """
    def plain(obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    device = plain(card.device)
    if card.device.C_j_from_geometry:
        del device["C_j_F"]          # computed from area and tox: recomputed when they change
    out = {
        "device": device,
        "schedule": card.schedule.to_dict(),
        "programming": plain(card.programming),
        "simulation": plain(card.simulation),
    }
    if not card.technology.is_default():  # ideal cards keep the four tables they always had
        out["technology"] = card.technology.to_dict()
        if card.technology.pdk == "sky130":
            out["device"] = {k: v for k, v in out["device"].items() if k not in DERIVED_BY_PDK}
    return out


def device_derived(dev: DeviceParams) -> dict[str, Any]:
    """Derived device values for reports (summary.json ``device_derived``): capacitances, coupling, FN law."""
    return {"C_j_F": dev.C_j_F, "C_j_from_geometry": dev.C_j_from_geometry, "C_fg_F": dev.C_fg_F,
            "kappa": dev.kappa, "fn_law": dev.law.name, "ckT_at_V0": dev.ckT(dev.V0_V)}


def card_to_toml(card: Card, header: str = "") -> str:
    """Render a card as TOML text (round-trips through :func:`load_card`)."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    for section, values in card_to_dict(card).items():
        lines.append(f"\n[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
