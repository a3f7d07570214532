"""Results of an MLP training run: per-step table, per-synapse table, energy totals, bounds, projection."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..theory.projection import brain_scale_summary, brain_scale_table
from ..theory.schedules import ScheduleSpec
from ..theory.totals import lim_totals
from .datasets import Dataset
from .mlp import MLP, confusion_matrix
from .mlp_config import MLPConfig
from .synapses import AmplitudeTable, SynapseArray

__all__ = ["summarise", "PROJECTION_PREMISES"]

#: What the 1e15-parameter extrapolation assumes (also in summary.json).
PROJECTION_PREMISES = (
    "energy per parameter-update stays at the value measured in this run (mean over all pulses): "
    "no extra wiring, driver or read-out energy as the array grows",
    "two training lengths: the updates per parameter of this run, and the paper's 1e13 "
    "(1e28 operations / 1e15 parameters, lim_hw.theory.projection DEFAULTS)",
    "every parameter is written at every step (dense updates); skipped sub-threshold updates still count "
    "as updates for Landauer and the digital reference",
    "Landauer: precision_bits kT ln 2 per parameter-update; digital: conventional_update_J per "
    "parameter-update (SRAM read + write, no multiply-add, no DRAM)",
    "LIM_A / LIM_B of the updates made scale with the same factor (per-update bound of this run)",
    "the paper's own LIM figures (ops x bits x kT ln 2 and params x schedule) are the RECONSTRUCTION "
    "in lim_hw.theory.projection (arXiv:2402.14878 full text not available)",
)

_ENERGY = ("drawn", "net", "tunnel", "limA", "limB")


def summarise(cfg: MLPConfig, mlp: MLP, data: Dataset, arr: SynapseArray, rows: list[dict], trace: list[dict],
              w_soft: np.ndarray, n_steps: int, spe: int, w_max: float, bits_J: float, loop_s: float,
              wall_s: float, amps: np.ndarray | None, knee_s: float, table: AmplitudeTable | None):
    from .mlp_train import MLPResult

    ts, prog, dev = cfg.training, cfg.card.programming, cfg.card.device
    P = mlp.n_params
    steps = pd.DataFrame(rows)
    for k in _ENERGY:
        steps[f"E_{k}_cum_per_param_J"] = steps[f"{k}_total"].cumsum() / P
    steps["E_landauer_cum_per_param_J"] = steps["n"] * bits_J
    steps["E_digital_cum_per_param_J"] = steps["n"] * cfg.energy.conventional_update_J
    w_dev = arr.read()
    layer = np.concatenate([np.full(s.stop - s.start, i) for i, s in enumerate(mlp.layer_slices)])
    syn = pd.DataFrame({"j": np.arange(P), "layer": layer, "is_bias": mlp.is_bias(), "w_device": w_dev,
                        "w_float": w_soft, "offset": arr.offset, "tox_p_m": arr.tox_m[0], "tox_m_m": arr.tox_m[1],
                        "area_p_m2": arr.area_m2[0], "area_m_m2": arr.area_m2[1], "V_ox_p_V": arr.V[0],
                        "V_ox_m_V": arr.V[1], **{f"{k}_J" if k not in ("pulses", "transitions") else k: v
                                                 for k, v in arr.cum.items()}})
    init = steps.iloc[0]
    last = steps.dropna(subset=["acc_test"]).iloc[-1]
    per_layer = []
    for li, s in enumerate(mlp.layer_slices):
        d = {"layer": li, "shape": list(mlp.shapes[li]), "n_parameters": s.stop - s.start}
        for k in _ENERGY + ("pulses", "transitions"):
            tot = float(arr.cum[k][s].sum())
            d[f"{k}_run"] = tot
            d[f"{k}_training"] = tot - float(init[f"{k}_L{li}"])
        per_layer.append(d)
    tot = {k: float(arr.cum[k].sum()) for k in arr.cum}
    train = {k: tot[k] - float(init[f"{k}_total"]) for k in _ENERGY + ("pulses", "transitions")}
    n_param_updates = P * n_steps
    pulses = train["pulses"]
    per_update = {k: train[k] / pulses if pulses else math.nan for k in _ENERGY}
    per_update.update({"landauer": bits_J, "digital": cfg.energy.conventional_update_J})
    energy_run = {"device_drawn": train["drawn"], "device_net": train["net"], "device_tunnelling": train["tunnel"],
                  "lim_A_updates_made": train["limA"], "lim_B_updates_made": train["limB"],
                  "landauer": n_param_updates * bits_J,
                  "conventional_digital": n_param_updates * cfg.energy.conventional_update_J,
                  "init_write_drawn": float(init["drawn_total"]), "init_write_net": float(init["net_total"])}
    # LIM_A / LIM_B totals of the theory for the same parameter count, update count and schedule
    g_rms = float(np.sqrt(np.mean(steps["grad_ms"].iloc[1:]))) if "grad_ms" in steps else 1.0
    n0 = (prog.update_start_s(2) + knee_s) / prog.period_s if ts.lr == "device" else ts.n0
    kind = {"device": "inverse"}.get(ts.lr, ts.lr)
    spec = ScheduleSpec(kind=kind, n_updates=n_steps, eps0=ts.eps0, n0=n0, p=ts.p,
                        gamma=min(ts.gamma, 0.999999999), grad=max(g_rms, 1e-300))
    theory = {}
    for v in ("A", "B"):
        kw = ({"drive_floor_kT": cfg.energy.lim_b_drive_floor_kT, "eta": cfg.energy.lim_b_eta} if v == "B" else {})
        t = lim_totals(spec, dev.R_max_per_s, dev.T_K, v, n_params=P, **kw)
        theory[f"LIM_{v}"] = {"E_model_J": t["E_diss_model_J"], "E_per_param_J": t["E_diss_total_J"],
                              "n_infeasible": t["n_infeasible"]}
    theory["schedule"] = {"kind": kind, "eps0": ts.eps0, "n0": n0, "n_updates": n_steps, "grad_rms": g_rms,
                          "R_max_per_s": dev.R_max_per_s, "alpha": spec.alpha}
    # projection to 1e15 parameters
    proj_tab = brain_scale_table()
    paper = brain_scale_summary(proj_tab)
    proj = {"premises": list(PROJECTION_PREMISES), "n_params": 1e15, "paper_reconstruction": paper}
    for label, upp in (("this_run_updates_per_param", float(n_steps)), ("paper_1e13_updates_per_param", 1e13)):
        proj[label] = {"updates_per_param": upp,
                       **{k: 1e15 * upp * per_update[k] for k in per_update}}
    C_dev = confusion_matrix(data.y_test, mlp.predict(w_dev, data.X_test), 10)
    C_flt = confusion_matrix(data.y_test, mlp.predict(w_soft, data.X_test), 10)
    summary: dict[str, Any] = {
        "name": cfg.name, "task": "digits-mlp", "dataset": data.info, "layers": list(mlp.sizes),
        "activation": mlp.activation, "n_parameters": P, "n_parameters_per_layer": [d["n_parameters"] for d in per_layer],
        "epochs": ts.epochs, "steps_per_epoch": spe, "n_steps": n_steps, "batch_size": ts.batch_size,
        "lr": ts.lr, "eps0": ts.eps0, "shot_noise": ts.shot_noise, "mismatch": cfg.mismatch.__dict__,
        "electrons_per_weight": arr.Q_unit, "V_per_unit_weight_V": arr.V_unit,
        "device_lr_knee_s": knee_s, "device_lr_equivalent_n0": n0 if ts.lr == "device" else None,
        "final": {"acc_test": float(last["acc_test"]), "acc_test_float": float(last["acc_test_float"]),
                  "acc_train": float(last["acc_train"]), "loss_train": float(last["loss_train"]),
                  "loss_train_float": float(last["loss_train_float"]),
                  "acc_gap_float_minus_device": float(last["acc_test_float"] - last["acc_test"])},
        "weights": {"window_V": cfg.weights.window_V, "w_max": w_max, "max_abs_w_device": float(np.abs(w_dev).max()),
                    "max_abs_w_float": float(np.abs(w_soft).max()),
                    "n_clipped_window": int(steps["n_clipped_window"].sum()),
                    "n_clipped_V_max": int(steps["n_clipped_V_max"].sum()),
                    "V_ox_min_V": float(arr.V.min()), "V_ox_max_V": float(arr.V.max()),
                    "max_write_drop_V": float(arr.cum["transitions"].max() * arr.V_unit / arr.Q_unit)},
        "write_error_rms_mean": float(steps["write_error_rms"].iloc[1:].mean()),
        "energy_run_J": energy_run, "energy_per_parameter_J": {k: v / P for k, v in energy_run.items()},
        "energy_per_update_J": per_update, "energy_per_layer_J": per_layer,
        "lim_theory_totals": theory,
        "ratios": {"drawn_to_limA": train["drawn"] / train["limA"] if train["limA"] > 0 else math.nan,
                   "drawn_to_limB": train["drawn"] / train["limB"] if train["limB"] > 0 else math.nan,
                   "drawn_to_landauer": train["drawn"] / energy_run["landauer"],
                   "digital_to_drawn": energy_run["conventional_digital"] / train["drawn"] if train["drawn"] else math.nan,
                   "tunnelling_to_limA": train["tunnel"] / train["limA"] if train["limA"] > 0 else math.nan},
        "n_limA_infeasible": int(steps["n_limA_infeasible"].sum()), "pulses_training": pulses,
        "projection_1e15": proj,
        "speed": {"training_loop_s": loop_s, "synapse_updates": n_param_updates,
                  "synapse_updates_per_s": n_param_updates / loop_s if loop_s > 0 else math.nan,
                  "pulses_per_s": pulses / loop_s if loop_s > 0 else math.nan, "wall_s": wall_s},
        "amplitude_table": {"kind": "spline of the nominal-cell root-find" if table is not None else "root-find",
                            "V_ox_V": table.V_ox_V if table is not None else None},
        "pulse": {"shape": prog.shape, "pulse_width_s": prog.pulse_width_s, "rise_s": prog.rise_s,
                  "period_s": prog.period_s, "first_update_s": prog.first_update_s},
    }
    return MLPResult(cfg, mlp, steps, syn, pd.DataFrame(trace), summary, {"device": C_dev, "float": C_flt},
                     amplitudes=amps, array=arr)
