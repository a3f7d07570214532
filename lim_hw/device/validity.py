"""Physical validity of a card: what the FN-DAM model (and so every engine) can represent.

Shared by the ngspice flow (:func:`lim_hw.netlist.generate.generate`) and the fast
engine (:func:`lim_hw.fast.flow.run_fast_flow`), so both refuse the same cards
before simulating (docs/flow.md, "Cards the model refuses"). Each refusal is one
:class:`~lim_hw.errors.InputError` line naming the key and the fix.
"""

from __future__ import annotations

from ..constants import q_C
from ..errors import InputError

#: Driver settling: the flat top must last this many line time constants (the gate reaches -V_p).
SETTLE_TAUS = 20.0
#: ngspice's smallest step is 1e-11 tmax; a line time constant below it cannot be simulated.
DELMIN_PER_TMAX = 1e-11


def check_physical(card, tmax_s: float | None = None, cells_per_line: int = 1) -> None:
    """InputError when the card asks for something the model cannot represent.

    - the oxide voltage must stay in the Fowler-Nordheim regime (``V_ox > phi_B``) over the
      run: below it the FN law (docs/device.md) does not describe the junction;
    - the driver must settle within the flat top (``20 R_drv C_line <= pulse_width_s``) and
      before the next update, and its time constant must exceed ngspice's smallest step;
    - each transition's LIM bound ``E0 + |dE|`` must not exceed what one tunnelling electron
      can dissipate, ``q V_ox`` (else the "bound" is no bound for this device).
    """
    from ..device.floating_gate import fn_closed_form_V

    d, prog = card.device, card.programming
    V_end = float(fn_closed_form_V(card.stop_time_s, d.tox_m, d.area_m2, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff))
    if not V_end > d.phi_B_eV:
        raise InputError(
            f"[device] the oxide voltage decays to {V_end:.3g} V by t = {card.stop_time_s:g} s, below the barrier "
            f"phi_B_eV = {d.phi_B_eV:g} eV, where the Fowler-Nordheim law does not hold (phi_B_eV = {d.phi_B_eV:g} "
            f"with m_eff = {d.m_eff:g} is not a tunnelling oxide); use measured phi_B_eV/m_eff (Si/SiO2: 3.2, 0.42)")
    if card.n_updates == 0:
        return
    c_eff = d.C_c_F * (d.C_T_F - d.C_c_F) / d.C_T_F
    if c_eff <= 0:
        raise InputError("[device] C_c_F must be > 0 and < C_T_F for programming pulses to couple to the gate")
    tau = prog.R_drv_ohm * c_eff * cells_per_line
    if SETTLE_TAUS * tau > prog.pulse_width_s:
        raise InputError(
            f"[programming] R_drv_ohm = {prog.R_drv_ohm:g} ohm gives a driver time constant of {tau:.3g} s: the gate "
            f"does not settle within pulse_width_s = {prog.pulse_width_s:g} s (needs >= {SETTLE_TAUS:g} time constants); "
            f"lower R_drv_ohm to <= {prog.pulse_width_s / (SETTLE_TAUS * c_eff * cells_per_line):.3g} ohm or lengthen "
            "the pulse")
    if prog.pulse_width_s + 2 * prog.rise_s + SETTLE_TAUS * prog.R_drv_ohm * d.C_c_F >= prog.period_s:
        raise InputError(f"[programming] the update window (pulse, edges and {SETTLE_TAUS:g} R_drv C_c of settling) "
                         f"does not fit in period_s = {prog.period_s:g} s; lengthen the period or lower R_drv_ohm")
    if tmax_s is not None and tau < DELMIN_PER_TMAX * tmax_s:
        raise InputError(
            f"[programming] R_drv_ohm = {prog.R_drv_ohm:g} ohm gives a driver time constant of {tau:.3g} s, below "
            f"ngspice's smallest time step ({DELMIN_PER_TMAX * tmax_s:.3g} s here): the edges cannot be simulated; "
            f"raise R_drv_ohm to >= {DELMIN_PER_TMAX * tmax_s / (c_eff * cells_per_line):.3g} ohm")


def check_bound_representable(card, table) -> None:
    """InputError when a transition's LIM bound ``E0 + |dE|`` exceeds ``q V_ox`` (what one electron can dissipate)."""
    if table is None or len(table) == 0:
        return
    per = (table["E0_J"].abs() + table["dE_J"].abs()).to_numpy(dtype=float)
    v = table["V_ox_peak_V"].to_numpy(dtype=float) if "V_ox_peak_V" in table else None
    cap = q_C * (v if v is not None else card.device.V0_V)
    bad = per > cap
    if bad.any():
        k = int(bad.argmax())
        raise InputError(
            f"[schedule] update {int(table['n'].iloc[k])}: the LIM bound per transition E0 + |dE| = {per[k]:.3g} J "
            f"exceeds the {cap[k]:.3g} J one tunnelling electron can dissipate (q V_ox): grad = "
            f"{card.schedule.grad:g}, eps0 = {card.schedule.eps0:g} ask for more than the device can represent; "
            "lower grad or eps0")
