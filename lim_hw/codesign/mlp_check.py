"""ngspice check of an MLP training run: windows of updates replayed on the sampled synapses."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..device.card import Card
from ..errors import InputError
from .replay import replay_synapse
from .train import CHECK_COLUMNS

__all__ = ["ngspice_check_mlp", "MLP_CHECK_COLUMNS"]

MLP_CHECK_COLUMNS = ("synapse", "layer") + CHECK_COLUMNS


def ngspice_check_mlp(result, card: Card | None = None, engine: str | None = None
                      ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Replay steps ``[check] first_step ..`` of every traced synapse in ngspice (one run per half).

    ``card`` (default: the training card) selects the technology of the replay:
    its device values and testbench; the cells keep their mismatched tox/area.
    """
    cfg = result.config
    chk = cfg.check
    card = cfg.card if card is None else card
    tr = result.trace
    if tr.empty:
        raise InputError("no traced synapses to check")
    win_all = tr[(tr["n"] >= chk.first_step) & (tr["n"] < chk.first_step + chk.n_steps)]
    syn = result.synapses
    rows, ends = [], {}
    for j, win in win_all.groupby("synapse", sort=True):
        W = syn.iloc[int(j)]
        cells = {h: (float(W[f"tox_{h}_m"]), float(W[f"area_{h}_m2"])) for h in ("p", "m")}
        r, e = replay_synapse(card, cells, win.sort_values("n"), cfg.training.electrons_per_weight,
                              engine or chk.engine)
        for x in r:
            x.update({"synapse": int(j), "layer": int(W["layer"])})
        rows += r
        ends[str(int(j))] = e
    df = pd.DataFrame(rows, columns=[c for c in MLP_CHECK_COLUMNS if c != "rel_N"])
    if not df.empty:
        df["rel_N"] = df["N_model"] / df["N_ngspice"] - 1.0
        df = df.sort_values(["synapse", "n", "half"]).reset_index(drop=True)[list(MLP_CHECK_COLUMNS)]

    def mx(s: pd.Series) -> float:
        return float(s.abs().max()) if len(s) else math.nan

    summary = {"synapses": sorted(int(j) for j in win_all["synapse"].unique()),
               "steps": [chk.first_step, chk.first_step + chk.n_steps - 1], "n_updates_checked": int(len(df)),
               "max_abs_rel_N": mx(df["rel_N"]) if len(df) else math.nan,
               "max_abs_dV_fg_diff_V": mx(df["dV_fg_model_V"] - df["dV_fg_ngspice_V"]) if len(df) else math.nan,
               "max_abs_rel_drawn": mx(df["E_drawn_model_J"] / df["E_drawn_ngspice_J"] - 1) if len(df) else math.nan,
               "max_abs_rel_tunnel": mx(df["E_tunnel_model_J"] / df["E_tunnel_ngspice_J"] - 1) if len(df) else math.nan,
               "max_abs_V_ox_end_diff_V": max((abs(h["diff_V"]) for e in ends.values() for h in e.values()),
                                              default=math.nan),
               "window_end": ends}
    return df, summary
