"""The ``sky130`` technology: FN-DAM cells on the SkyWater sky130 primitive models (docs/pdk.md).

Flow of one card: locate the models (:mod:`.pdk`), cut the subset the cell needs at the
card's corner (:mod:`.models`), read the oxide thickness of the tunnelling capacitor from
its model bin, extract C_T, kappa and C_j with an ngspice AC analysis of the cell and the
large-signal step and effective pulse width with one programming window through the real
level shifter and driver (:mod:`.extract`), synthesise pulse widths (:mod:`.synthesis`),
run the segmented transient (:mod:`.cell`, :mod:`.render`, :mod:`.run`), correct the widths
from the tracking error ngspice measured and run again (the closed loop, nominal corners
only), and account the energy by supply (:mod:`.energy`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from ...device.card import Card, card_to_toml
from ...energy.updates import Waveforms
from ...errors import InputError
from ...netlist.generate import NetlistArtifacts
from .. import TechRun
from .cell import ABSTOL_FLOOR_A, DEFINES, Sky130Testbench, build_testbench, check_timing, used_devices
from .energy import account as account_sky130
from .extract import Sky130Design, calibrate, small_signal, solve_width
from .models import PREFIX, model_subset
from .pdk import locate_pdk
from .render import render_deck
from .run import simulate_testbench
from .synthesis import correct_widths, fg_model, max_width_s, pulse_model, synthesize

#: The closed loop re-simulates until every update's |tracking error| is below this, at most
#: :data:`LOOP_MAX` corrections (the issue's target at tt is 1e-3; this leaves margin).
LOOP_TOL = 3e-4
LOOP_MAX = 2
TUN_DEVICE = "pfet_g5v0d10v5"
#: Smallest closure tolerances a sky130 run is held to (measured: energy closure <= 2.5e-4, charge
#: closure 1-2e-3: the window tolerance, reltol 1e-4, sets it); a card asking for less gets these (recorded).
ENERGY_CLOSURE_FLOOR = 1e-3
CHARGE_CLOSURE_FLOOR = 3e-3
#: Absolute resolution of the charge balance (electrons per window): ngspice resolves the floating-gate
#: step (7-30 uV after a 2.6 V pulse excursion) to 0.02-0.05 electrons whatever N_target (measured over
#: 20 updates at tt, thermal and classic laws), so update n may miss by max(3e-3, 0.1 / N_target).
CHARGE_FLOOR_ELECTRONS = 0.1
_EPS0 = 8.8541878128e-12


class Sky130Technology:
    """sky130 cell, synapse and array (engines: batch and fast)."""

    name = "sky130"
    engines = ("batch", "fast")

    def __init__(self) -> None:
        self._designs: dict[str, Sky130Design] = {}
        self._tables: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(card: Card) -> str:
        return hashlib.sha256((str(locate_pdk().lib_file) + card.technology.base_corner
                               + card_to_toml(dataclasses.replace(card, name="card"))).encode()).hexdigest()

    @staticmethod
    def _base(card: Card) -> Card:
        """``card`` at its base corner (no ``_mm``), the corner designs are extracted and looped at."""
        t = card.technology
        return dataclasses.replace(card, technology=dataclasses.replace(t, corner=t.base_corner, seed=1))

    # --- what the card is made of ------------------------------------------------------

    def subset(self, card: Card, corner: str | None = None):
        return model_subset(locate_pdk(), corner or card.technology.corner, used_devices(card))

    def junction(self, card: Card) -> tuple[float, float, tuple[tuple[str, float], ...]]:
        """(tox_m read from the model bin, toxe mismatch slope, FN law parameters of fn_junction:
        tox, phib, meff, thermal, imgf -- the card's law, as the ideal junction's, docs/device.md s.6-7)."""
        t = card.technology
        sub = self.subset(card, t.base_corner)
        tox = sub.bin_for(TUN_DEVICE, t.W_tun_m, t.L_tun_m).toxe_m
        if not (math.isfinite(tox) and 1e-9 < tox < 1e-7):
            raise InputError(f"the {PREFIX}{TUN_DEVICE} model bin has no usable toxe ({tox!r}); check the PDK")
        toxmm = sub.params.get(f"{PREFIX}{TUN_DEVICE}__toxe_slope", 0.0)
        d = card.device  # the ideal junction's FN law: barrier, mass, thermal factor, image force
        return tox, toxmm, (("tox", tox), ("phib", float(d.phi_B_eV)), ("meff", float(d.m_eff)),
                            ("thermal", 1.0 if d.law.thermal else 0.0), ("imgf", 1.0 if d.image_force else 0.0))

    def nominal_device(self, card: Card):
        """The device values known without ngspice: tox from the model, area from the junction size."""
        tox, _, _ = self.junction(card)
        t = card.technology
        return dataclasses.replace(card.device, tox_m=tox, area_m2=t.W_tun_m * t.L_tun_m)

    def design(self, card: Card) -> Sky130Design:
        """The extracted cell at the card's base corner (cached per card)."""
        base = self._base(card)
        key = self._key(base)
        with self._lock:
            if key in self._designs:
                return self._designs[key]
        d = self._extract(base)
        with self._lock:
            self._designs[key] = d
        return d

    def _extract(self, base: Card) -> Sky130Design:
        t = base.technology
        tox, toxmm, fn = self.junction(base)
        sub = self.subset(base)
        # drawn capacitances (F), only to place the operating points of the AC run
        cap = sub.params.get("camimc", 2e-15)  # F/um^2
        c_cc = cap * t.W_cc_m * t.L_cc_m * 1e12
        c_cg = cap * t.W_cg_m * t.L_cg_m * 1e12
        c_ox = 3.9 * _EPS0 / tox * (t.W_tun_m * t.L_tun_m + t.W_ro_m * t.L_ro_m)
        kappa_est = c_cc / (c_cc + c_cg + c_ox)
        V_fg0 = base.device.V_fg0_V
        # where the floating gate is when the first update comes (or at the end of a retention run), from
        # the drawn capacitances; the AC run then measures C at the start, midway and there (Simpson mean)
        t1 = base.programming.first_update_s if base.n_updates > 0 else base.stop_time_s
        drawn = dataclasses.replace(base, device=dataclasses.replace(base.device, tox_m=tox,
                                                                     area_m2=t.W_tun_m * t.L_tun_m))
        V_fg1 = V_fg0 + float(fg_model(drawn, c_cc + c_cg + c_ox).drop_V(base.device.V0_V, t1))
        rest0, restm, rest, pulse = small_signal(base, sub, fn, toxmm, [V_fg0, 0.5 * (V_fg0 + V_fg1), V_fg1],
                                                 V_fg1 - kappa_est * t.V_drv_V)
        c_init = (rest0.C_T_F + 4.0 * restm.C_T_F + rest.C_T_F) / 6.0
        design = Sky130Design(t.base_corner, tox, toxmm, t.W_tun_m * t.L_tun_m, rest, pulse,
                              provenance=locate_pdk().provenance(), C_T_initial_F=c_init)
        if base.n_updates == 0:
            return design
        eff = self._effective(base, design)
        first = synthesize(eff, pulse_model(eff, rest.C_T_F, pulse.C_T_F, rest.kappa, 0.0, c_init)).iloc[0]
        w = float(first.w_s) if first.w_s > 0 else 0.1 * max_width_s(eff)
        V0 = float(first.V_ox_before_V)
        cal = calibrate(eff, sub, fn, toxmm, V0, w, rest.C_T_F,
                        pulse_model(eff, rest.C_T_F, pulse.C_T_F, rest.kappa, 0.0).n_window(V0))
        # the measured step replaces the small-signal coupling; refit the width offset with it
        n_win = pulse_model(eff, rest.C_T_F, pulse.C_T_F, cal.kappa_ls, 0.0).n_window(V0)
        dw = solve_width(n_win, cal.N_window, w) - w
        return dataclasses.replace(design, calibration=dataclasses.replace(cal, dw_s=dw))

    @staticmethod
    def _effective(card: Card, design: Sky130Design) -> Card:
        r = design.rest
        C_T = r.C_T_F if card.n_updates > 0 else (design.C_T_initial_F or r.C_T_F)  # retention: the mean
        dev = dataclasses.replace(card.device, tox_m=design.tox_m, area_m2=design.area_m2, C_T_F=C_T,
                                  C_c_F=r.C_k_F["cg"], C_j_F=r.C_k_F["tun"])
        energy_tol, charge_tol = _tolerances(card)
        sim = dataclasses.replace(card.simulation, abstol_A=max(card.simulation.abstol_A, ABSTOL_FLOOR_A),
                                  energy_closure_tol=energy_tol, charge_closure_tol=charge_tol)
        return dataclasses.replace(card, device=dev, simulation=sim)

    def resolve(self, card: Card) -> Card:
        """``card`` with the device values of its sky130 cell (tox from the model, C's extracted)."""
        return self._effective(card, self.design(card))

    def model(self, card: Card, design: Sky130Design | None = None):
        d = design or self.design(card)
        eff = self._effective(card, d)
        return eff, pulse_model(eff, d.rest.C_T_F, d.pulse.C_T_F, d.kappa_ls, d.dw_s, d.C_T_initial_F)

    # --- what the flow calls -------------------------------------------------------------

    def check(self, card: Card, engine: str, kind: str = "cell", array=None) -> None:
        if engine not in self.engines:
            raise InputError(f"--engine {engine} cannot run a sky130 card (its segmented ngspice script needs the "
                             f"batch engine); use --engine batch or --engine fast")
        if card.programming.shape != "rectangular":
            raise InputError('a sky130 card needs [programming] shape = "rectangular": its driver makes the edges '
                             "(ramped edges would need a ramp generator, which the sky130 cell does not have)")
        if card.programming.decrease == "injection":
            raise InputError('[programming] decrease = "injection" needs an injector, which the sky130 cell does not '
                             'have; use decrease = "pair" (the - half) or [technology] pdk = "ideal"')
        if card.simulation.stochastic:
            raise InputError("[simulation] stochastic (Poisson electrons) is the ideal fast model's; the sky130 fast "
                             "engine is deterministic: set stochastic = false or [technology] pdk = \"ideal\"")
        if card.technology.mismatch and engine == "fast":
            raise InputError(f"--engine fast cannot sample the PDK's mismatch (corner {card.technology.corner}); "
                             "use --engine batch or the base corner")

    def cells(self, kind: str, array, col_offset: int = 0) -> list[tuple[int, int, str]]:
        if array is not None:
            rows, cols = array
            return [(r, c, h) for c in range(col_offset, col_offset + cols) for r in range(rows) for h in ("p", "m")]
        if kind == "synapse":
            return [(0, 0, "p"), (0, 0, "m")]
        if kind == "cell":
            return [(0, 0, "p")]
        raise InputError(f"unknown testbench kind {kind!r}")

    def synthesize(self, card: Card, corrections=None) -> pd.DataFrame:
        eff, model = self.model(card)
        table = synthesize(eff, model, corrections)
        check_timing(eff, table)
        return table

    def generate(self, card: Card, kind: str = "cell", array: tuple[int, int] | None = None,
                 table: pd.DataFrame | None = None, mismatch=None, col_offset: int = 0) -> NetlistArtifacts:
        """Synthesis and testbench. A nominal lone cell is synthesised here and closes its loop in
        :meth:`simulate`; everything else (synapse, array, block, mismatch, ``_mm``) takes the
        widths of the nominal cell's closed loop (:meth:`loop_table`), so all cells see the
        same pulses and the mismatch is not corrected away."""
        design = self.design(card)
        lone = kind == "cell" and array is None and not mismatch and not col_offset
        if table is None:
            table = self.table_for(card, kind, array, mismatch or col_offset)
        tb = self.testbench(card, table, kind, array, mismatch, col_offset)
        return NetlistArtifacts(self._effective(card, design), table, tb)

    def testbench(self, card: Card, table: pd.DataFrame, kind: str, array=None, mismatch=None,
                  col_offset: int = 0, cells=None) -> Sky130Testbench:
        design = self.design(card)
        eff = self._effective(card, design)
        _, toxmm, fn = self.junction(card)
        kind_name = kind if array is None else "array"
        cells = cells if cells is not None else self.cells(kind, array, col_offset)
        tb = build_testbench(eff, table, cells, kind_name, self.subset(card), fn, toxmm, design.rest.C_T_F,
                             mismatch=mismatch, caps_F=(design.rest.C_k_F["cg"], design.rest.C_k_F["tun"]))
        return dataclasses.replace(tb, extra={"mismatch": bool(mismatch), "design": design})

    def loop_table(self, card: Card) -> pd.DataFrame:
        """The synthesis table after the closed loop of the nominal lone cell at the card's base corner."""
        nominal = self._base(card)
        key = self._key(nominal)
        with self._lock:
            if key in self._tables:
                return self._tables[key]
        if card.n_updates == 0:
            table = self.synthesize(nominal)
        else:
            table = self.simulate(nominal, self.generate(nominal, "cell"), "batch").table
        with self._lock:
            self._tables[key] = table
        return table

    def simulate(self, card: Card, art: NetlistArtifacts, engine: str, progress=None, retention=None) -> TechRun:
        """ngspice; a nominal lone cell then closes the loop (corrected widths, re-simulated) until its
        tracking is within the card's ``tracking_tol`` (and :data:`LOOP_TOL`); then the self-checks
        (:func:`lim_hw.energy.checks.check_failures`: closures, tracking of nominal cells, retention)."""
        tb: Sky130Testbench = art.testbench
        design = tb.extra.get("design") or self.design(card)
        eff, model = self.model(card, design)
        table = art.table
        lone = tb.kind == "cell" and len(tb.cells) == 1
        nominal = lone and not card.technology.mismatch and not tb.extra.get("mismatch")
        loops = LOOP_MAX if (nominal and card.n_updates > 0) else 0
        target = min(LOOP_TOL, 0.5 * card.simulation.tracking_tol)
        corrections = None
        history = []
        for it in range(loops + 1):
            sim, deck = simulate_testbench(eff, tb, table)
            t_acc = time.perf_counter()
            upd = self.account(card, table, tb, Waveforms(sim.time_s, sim.vectors))
            t_acc = time.perf_counter() - t_acc
            err = float(np.nanmax(np.abs(upd["tracking_error"]))) if len(upd) else 0.0
            history.append({"iteration": it, "tracking_error_max_abs": err, "simulation_wall_s": sim.wall_s})
            if it == loops or not err > target:
                break
            corrections = correct_widths(table, upd["N_sim"].to_numpy(dtype=float), model, corrections)
            table = synthesize(eff, model, corrections)
            check_timing(eff, table)
            tb = self.testbench(card, table, tb.kind, cells=[(r, c, h) for r, c, h, *_ in tb.cells])
        self._self_check(card, eff, upd, tb, sim, retention, nominal)
        info = {"windows": [list(w) for w in tb.windows], "read_windows": [list(w) for w in tb.read_windows],
                "segments": len(tb.segments), "tolerances": {
                    **dict(zip(("energy_closure", "charge_closure"), _tolerances(card))),
                    "charge_closure_floor_electrons": CHARGE_FLOOR_ELECTRONS}}
        return TechRun(sim, tb, deck, table, tuple(history) if nominal else (), info, updates=upd,
                       accounting_s=t_acc)

    @staticmethod
    def _self_check(card: Card, eff: Card, upd: pd.DataFrame, tb, sim, retention, nominal: bool) -> None:
        """The ideal flow's self-checks on a sky130 run; a failure is one error line, no result."""
        from ...energy.checks import check_failures
        from ...sim import SimulationError

        checked = eff  # its closure tolerances are the card's raised to the sky130 floors (_effective)
        ret = None
        if retention is not None and card.n_updates == 0:
            ret = retention(eff, Waveforms(sim.time_s, sim.vectors), tb)["retention_max_rel_error"]
        failures = check_failures(checked, upd, ret, tracking=nominal, charge_floor_e=CHARGE_FLOOR_ELECTRONS)
        if failures:
            raise SimulationError(f"self-check failed (sky130, corner {card.technology.corner}): {failures[0]}"
                                  + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
                                  + " -- hint: relax the tolerance in [simulation] if the card asks for more than "
                                  "the sky130 cell gives (docs/pdk.md), or shorten the run")

    def fast(self, card: Card, kind: str = "cell", array=None, table: pd.DataFrame | None = None):
        """``--engine fast``: (effective card, table, result, updates, self-check note) from the
        extracted model (:mod:`.fast`), checked like every run."""
        from ...energy.checks import check_failures
        from .fast import simulate_fast_sky130

        design = self.design(card)
        eff, model = self.model(card, design)
        table = self.synthesize(card) if table is None else table
        n_cells = 2 * array[0] * array[1] if array is not None else (2 if kind == "synapse" else 1)
        res = simulate_fast_sky130(eff, table, model, design, n_cells)
        failures = check_failures(eff, res.updates)
        if failures:
            raise InputError(f"self-check failed (sky130 fast engine): {failures[0]}")
        return eff, table, res, res.updates, ("sky130 fast engine: the closed form of the extracted cell; "
                                              "driver, level-shifter, logic, tunnelling-supply and read energies "
                                              "per pulse from the ngspice calibration window; no closures")

    def table_for(self, card: Card, kind: str = "cell", array=None, mismatch=None) -> pd.DataFrame:
        """The synthesis table a run uses: open loop for a nominal lone cell (it loops itself), else the loop's."""
        lone = kind == "cell" and array is None and not mismatch
        return self.synthesize(card) if lone and not card.technology.mismatch else self.loop_table(card)

    def point_testbench(self, card: Card, table: pd.DataFrame, kind: str, array, mismatch=None,
                        col_offset: int = 0) -> Sky130Testbench:
        if kind == "array":
            return self.testbench(card, table, "cell", array or (1, 1), mismatch, col_offset)
        return self.testbench(card, table, kind, None, mismatch, col_offset)

    def key_deck(self, tb, table: pd.DataFrame) -> str:
        return render_deck(tb, table, fn_library="fn_junction.lib", sky130_library="fndam_sky130.lib")

    def library_files(self) -> tuple:
        from ...netlist.render import CIRCUITS_DIR
        return tuple(sorted(CIRCUITS_DIR.glob("*.lib"))) + tuple(sorted((CIRCUITS_DIR / "sky130").glob("*.lib")))

    def account(self, card: Card, table: pd.DataFrame, tb, wf: Waveforms) -> pd.DataFrame:
        design = tb.extra.get("design") or self.design(card)
        return account_sky130(self._effective(card, design), table, tb, wf, design)

    def deck(self, art: NetlistArtifacts) -> str:
        return render_deck(art.testbench, art.table)

    def nominal(self, card: Card, tb) -> bool:
        """True when no cell carries mismatch (PDK ``_mm`` or lim-hw's per-cell spread)."""
        return not card.technology.mismatch and not tb.extra.get("mismatch")

    def file_text(self, art: NetlistArtifacts, stamp: str, tb=None) -> str:
        """netlist.cir: the deck that ran (models inline, control script, .end), stamped with the versions."""
        text = render_deck(tb or art.testbench, art.table)
        return text.replace("\n", f"\n* {stamp}\n", 1) if stamp else text

    def figures(self, out, card: Card, table: pd.DataFrame, updates: pd.DataFrame, tb=None, wf=None) -> dict:
        from .figures import sky130_figures
        return sky130_figures(out, card, table, updates, tb, wf)

    def provenance(self, card: Card, tb=None) -> dict[str, Any]:
        d = (tb.extra.get("design") if tb is not None else None) or self.design(card)
        t = card.technology
        out = {**locate_pdk().provenance(), "corner": t.corner, "extraction_corner": t.base_corner,
               "mismatch": t.mismatch, "ngspice_defines": list(DEFINES), "design": d.summary()}
        if t.mismatch:
            out["seed"] = t.seed
        return out


def _tolerances(card: Card) -> tuple[float, float]:
    """(energy, charge) closure tolerances of a sky130 run: the card's, raised to the floors the
    cell can meet (docs/pdk.md: nonlinear MOS capacitances, segmented transient)."""
    sim = card.simulation
    return max(sim.energy_closure_tol, ENERGY_CLOSURE_FLOOR), max(sim.charge_closure_tol, CHARGE_CLOSURE_FLOOR)


SKY130 = Sky130Technology()
