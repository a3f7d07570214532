"""ngspice in the loop: refine a decay fit so the fitted card reproduces the data *in the simulator*.

The closed-form fit (:mod:`lim_hw.fit.decay`) is exact for the model equation,
but the simulator integrates the same equation with a finite time step and
tolerances, so a card built from closed-form constants reproduces the data in
ngspice only up to the integration error (~1e-5 V with the default tolerances,
mostly from the first time step). The refinement is a defect correction
(output space mapping):

1. build a retention card (``schedule.n_updates = 0``,
   ``simulation.duration_s`` = last data time) from the current constants;
2. render :func:`lim_hw.netlist.spec.cell_testbench`, simulate, read
   ``V_ox = v(tun) - v(fg)`` at the data times (linear interpolation; the
   ``uic`` start point ``(0, V0)`` is added because ngspice does not write it);
3. the simulator's defect ``delta(t) = V_sim(t) - V_closed_form(t)`` is
   subtracted from the data and the closed form is refitted;
4. repeat until the constants move by less than 1 % of their standard errors.

Each iteration is one simulation; two or three are typical. Simulations go
through ``lim_hw.sim.simulate`` when that API exists, otherwise ``ngspice -b -r``
is run directly on :func:`lim_hw.netlist.render.render_file` output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..device.card import Card
from ..device.floating_gate import device_from_k
from ..errors import InputError, LimHwError
from .decay import decay_model_V, fit_decay
from .report import FitResult

__all__ = ["retention_card", "simulate_retention_V_ox", "refine_decay_ngspice", "simulator_backend",
           "run_testbench", "run_ngspice_deck"]

VECTORS = ("v(tun)", "v(fg)")


def simulator_backend() -> str:
    """``"lim_hw.sim"`` if its ``simulate`` API is importable, else ``"ngspice"`` (direct batch run)."""
    try:
        from .. import sim
    except ImportError:
        return "ngspice"
    return "lim_hw.sim" if callable(getattr(sim, "simulate", None)) else "ngspice"


def retention_card(base: Card, device: dict[str, float], t_end_s: float) -> Card:
    """A validated retention card: ``base`` with ``device`` keys replaced, no updates, ``duration_s = t_end_s``."""
    sim = {"duration_s": float(t_end_s)}
    if base.simulation.engine == "fast":
        sim["engine"] = "batch"
    return base.with_updates(device=device, schedule={"n_updates": 0}, simulation=sim)


def _read_raw(path: Path) -> dict[str, np.ndarray]:
    """Binary ngspice raw file (one real plot) -> name -> column."""
    buf = path.read_bytes()
    m = re.search(rb"^Binary:\r?\n", buf, re.MULTILINE)
    if m is None:
        raise LimHwError(f"ngspice wrote no binary data to {path.name}; read the ngspice log")
    head = buf[:m.start()].decode("ascii", errors="replace")
    nv = int(re.search(r"No\. Variables:\s*(\d+)", head).group(1))
    npts = int(re.search(r"No\. Points:\s*(\d+)", head).group(1))
    var_block = re.split(r"(?m)^Variables:", head, maxsplit=1)[-1]
    names = [ln.split()[1].lower() for ln in var_block.splitlines() if len(ln.split()) >= 3][:nv]
    data = np.frombuffer(buf, dtype="<f8", count=nv * npts, offset=m.end()).reshape(npts, nv).T
    return dict(zip(names, data))


def run_ngspice_deck(deck: str, timeout_s: float) -> tuple[np.ndarray, dict[str, np.ndarray], str]:
    """Run a stand-alone deck (with ``.save`` and ``.end``) as ``ngspice -b -r``; any analysis.

    Returns ``(scale, columns, ngspice_version)``: the plot's first column (time
    of a transient, the swept value of a DC sweep) and every saved vector by
    lower-case name. Raises :class:`LimHwError` if ngspice is missing, times out
    or reports an error.
    """
    exe = shutil.which(os.environ.get("LIM_HW_NGSPICE", "").strip() or "ngspice")
    if exe is None:
        raise LimHwError("ngspice was not found on PATH; install it (apt-get install ngspice) or drop --refine-ngspice")
    with tempfile.TemporaryDirectory(prefix="lim_hw_fit_") as tmp:
        Path(tmp, "deck.cir").write_text(deck, encoding="utf-8")
        try:
            proc = subprocess.run([exe, "-b", "-r", "out.raw", "deck.cir"], cwd=tmp, capture_output=True,
                                  text=True, timeout=timeout_s, stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, HOME=tmp))
        except subprocess.TimeoutExpired:
            raise LimHwError(f"ngspice did not finish within {timeout_s:g} s; raise [simulation] timeout_s "
                             "of the base card") from None
        raw = Path(tmp, "out.raw")
        log = proc.stdout + proc.stderr
        if not raw.exists() or re.search(r"(?i)timestep too small|error", log):
            line = next((ln for ln in log.splitlines() if re.search(r"(?i)error|too small", ln)), "no raw file")
            raise LimHwError(f"ngspice failed: {line.strip()}; check the card's [simulation] settings")
        cols = _read_raw(raw)
    from ..provenance import ngspice_version

    return next(iter(cols.values())), cols, ngspice_version()


def run_testbench(tb, vectors: Sequence[str], timeout_s: float, *, engine: str = "batch",
                  backend: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Simulate a :class:`~lim_hw.netlist.spec.Testbench` transient; ``(time_s, vectors, info)``.

    Through ``lim_hw.sim.simulate`` when available (``backend="lim_hw.sim"``),
    else ``ngspice -b -r`` on :func:`lim_hw.netlist.render.render_file` output.
    """
    from ..netlist.render import render, render_file

    backend = backend or simulator_backend()
    if backend == "lim_hw.sim":
        from ..sim import simulate

        res = simulate(render(tb), list(vectors), engine=engine, timeout_s=timeout_s)
        cols = {v: np.asarray(res.vectors[v], dtype=float) for v in vectors}
        return np.asarray(res.time_s, dtype=float), cols, {"backend": "lim_hw.sim.simulate", "engine": engine,
                                                           "ngspice": res.ngspice_version}
    time_s, cols, ver = run_ngspice_deck(render_file(tb), timeout_s)
    missing = [v for v in vectors if v not in cols]
    if missing:
        raise LimHwError(f"ngspice did not save {', '.join(missing)}; check the testbench's save list")
    return time_s, {v: cols[v] for v in vectors}, {"backend": "ngspice -b -r (direct)", "engine": "batch",
                                                   "ngspice": ver}


def simulate_retention_V_ox(card: Card, t_s: np.ndarray, *, backend: str | None = None
                            ) -> tuple[np.ndarray, dict[str, Any]]:
    """Simulate ``card`` (a retention card) with ngspice; return ``V_ox`` at ``t_s`` and run info."""
    from ..netlist.spec import cell_testbench
    from ..netlist.synthesis import synthesize

    tb = cell_testbench(card, synthesize(card))
    engine = card.simulation.engine if card.simulation.engine in ("batch", "shared") else "batch"
    time_s, cols, info = run_testbench(tb, VECTORS, float(card.simulation.timeout_s), engine=engine,
                                       backend=backend)
    vox = cols["v(tun)"] - cols["v(fg)"]
    if time_s.size == 0 or time_s[-1] < np.max(t_s) * (1 - 1e-9):
        raise LimHwError(f"the simulation ended at {time_s[-1] if time_s.size else 0:g} s, before the last data "
                         f"point at {np.max(t_s):g} s")
    if time_s[0] > 0:                       # ngspice omits t = 0 with uic: the start is V0 by construction
        time_s = np.concatenate([[0.0], time_s])
        vox = np.concatenate([[card.device.V0_V], vox])
    info["n_time_points"] = int(time_s.size)
    return np.interp(t_s, time_s, vox), info


def _device(result: FitResult, p: np.ndarray, base: Card) -> dict[str, float]:
    dev = base.device
    d = device_from_k(float(np.exp(p[1])), float(p[2]), ln_k0=float(p[0]),
                      phi_B_eV=dev.phi_B_eV, m_eff=dev.m_eff)
    return {"tox_m": float(d["tox_m"]), "area_m2": float(d["area_over_C_T_m2_per_F"]) * dev.C_T_F,
            "V0_V": float(d["V0_V"])}


class _Refit:
    """The fit being refined: the classic closed form (:mod:`.decay`) or the FN-law trajectory
    (:mod:`.decay_law`, one trace per temperature); model, refit and device of each trace."""

    def __init__(self, result: FitResult, base: Card, t: np.ndarray, T_K: np.ndarray | None):
        from .decay_law import group_traces, law_model_from_result

        self.base, self.t, self.T_K = base, t, T_K
        self.law_fit = "fn_law" in result.extra
        self.groups = group_traces(t, T_K) if self.law_fit else [np.arange(t.size)]
        self.model = law_model_from_result(result, base.device.law) if self.law_fit else None

    def V(self, p: np.ndarray) -> np.ndarray:
        if not self.law_fit:
            return decay_model_V(self.t, *p)
        out = np.empty(self.t.size)
        for j, g in enumerate(self.groups):
            out[g] = self.model.V(self.t[g], p, j)
        return out

    def refit(self, y, sigma_V, p, source, n_bootstrap=0, seed=0) -> FitResult:
        dev = self.base.device
        if not self.law_fit:
            return fit_decay(self.t, y, sigma_V, phi_B_eV=dev.phi_B_eV, m_eff=dev.m_eff, C_T_F=dev.C_T_F,
                             start=p, source=source, n_bootstrap=n_bootstrap, seed=seed)
        from .decay_law import fit_decay_law

        return fit_decay_law(self.t, y, sigma_V, self.T_K, law=dev.law, C_T_F=dev.C_T_F, start=p, source=source,
                             n_bootstrap=n_bootstrap, seed=seed)

    def device(self, result: FitResult, p: np.ndarray, j: int = 0) -> dict[str, float]:
        """``[device]`` keys of trace ``j``'s retention card (its V0 and temperature)."""
        if not self.law_fit:
            return _device(result, p, self.base)
        vals = result.values
        out = {"tox_m": vals["tox_m"], "area_m2": vals["area_m2"],
               "V0_V": vals["V0_V" if j == 0 else f"V0_V_{j + 1}"]}
        if "phi_B_eV" in vals and self.model.fit_phi:
            out["phi_B_eV"] = vals["phi_B_eV"]
        if self.T_K is not None:
            out["T_K"] = float(self.T_K[self.groups[j][0]])
        return out

    def simulate(self, result: FitResult, p: np.ndarray, backend):
        V_sim = np.empty(self.t.size)
        info: dict[str, Any] = {}
        for j, g in enumerate(self.groups):
            card = retention_card(self.base, self.device(result, p, j), float(self.t[g].max()))
            V_sim[g], info = simulate_retention_V_ox(card, self.t[g], backend=backend)
        return V_sim, info


def refine_decay_ngspice(result: FitResult, t_s, V_ox_V, sigma_V=None, *, base_card: Card,
                         max_iter: int = 4, n_bootstrap: int = 0, seed: int | None = 0,
                         backend: str | None = None, T_K=None) -> FitResult:
    """Defect-correction refinement of a decay fit through ngspice (see module docstring).

    Works for the classic closed-form fit and for the FN-law fit (thermal factor, image
    force; one ngspice run per trace and temperature, ``T_K``). Returns a new
    :class:`FitResult` (constants refitted to the data minus the simulator defect) with
    ``extra["ngspice_refinement"]``: iterations, RMS of data minus simulation before and
    after, the largest defect, the backend and ngspice version.
    """
    if result.model != "decay":
        raise InputError("ngspice refinement is implemented for --model decay only")
    t = np.asarray(t_s, dtype=float)
    V = np.asarray(V_ox_V, dtype=float)
    fit = _Refit(result, base_card, t, None if T_K is None else np.asarray(T_K, dtype=float))
    names = [p.name for p in result.params]
    p = np.array([result[n].value for n in names])
    se = np.array([result[n].stderr for n in names])
    history = []
    current = result
    converged = False
    info: dict[str, Any] = {}
    for it in range(max_iter):
        V_sim, info = fit.simulate(current, p, backend)
        delta = V_sim - fit.V(p)
        rms = float(np.sqrt(np.mean((V - V_sim) ** 2)))
        new = fit.refit(V - delta, sigma_V, p, result.source)
        p_new = np.array([new[n].value for n in names])
        step = float(np.max(np.abs(p_new - p) / np.where(se > 0, se, 1.0)))
        history.append({"iteration": it + 1, "rms_data_minus_sim_V": rms,
                        "max_abs_defect_V": float(np.max(np.abs(delta))), "step_over_stderr": step,
                        "tox_m": fit.device(new, p_new)["tox_m"]})
        p, current = p_new, new
        if step < 0.01:
            converged = True
            break
    V_final, info = fit.simulate(current, p, backend)
    if n_bootstrap:
        delta = V_final - fit.V(p)
        current = fit.refit(V - delta, sigma_V, p, result.source, n_bootstrap=n_bootstrap, seed=seed)
    rms_before = history[0]["rms_data_minus_sim_V"]
    rms_after = float(np.sqrt(np.mean((V - V_final) ** 2)))
    current.notes = list(result.notes)
    current.method = result.method + "; refined with ngspice in the loop (defect correction)"
    current.extra["ngspice_refinement"] = {
        **info, "iterations": len(history), "converged": converged,
        "rms_data_minus_sim_before_V": rms_before, "rms_data_minus_sim_after_V": rms_after,
        "closed_form_fit_tox_m": result["tox_m"].value, "history": history,
    }
    if not converged:
        current.warnings.append(f"ngspice refinement did not converge in {max_iter} iterations")
    current.stats["rms_data_minus_ngspice_V"] = rms_after
    current.plot["curves"] = current.plot["curves"] + [
        {"x": t, "y": V_final, "label": "ngspice, fitted card", "style": "x"}]
    current.plot["residuals"] = V - V_final
    current.plot["residual_label"] = "data - ngspice (V)"
    return current

