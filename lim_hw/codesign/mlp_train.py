"""Online minibatch training of an MLP whose every weight and bias is a differential FN-DAM synapse.

One run (docs/codesign.md s.7):

- device update 1 at ``t_1 = first_update_s`` programs the initial weights
  (Glorot, seeded; the float baseline starts from exactly these), after the
  controller has read every synapse once as its zero (``zero_offset``);
- training step ``n`` (device update ``n + 1``, at ``t_{n+1}``): all cells decay
  freely; the controller reads the weights, backpropagates the cross-entropy of
  minibatch ``n`` (a seeded permutation per epoch, last partial batch dropped),
  clips ``w + dw`` to the floating-gate window, and writes ``dw = -eps_n g`` as
  pulses (:class:`~lim_hw.codesign.synapses.SynapseArray`, vectorised over all
  synapses of all layers);
- ``lr = device``: ``eps_n = eps0`` and amplitudes from the fixed map of the
  nominal cell at ``t_1`` (:class:`~lim_hw.codesign.synapses.AmplitudeTable`),
  so the device's falling write sensitivity, ``~ 1/(t + t_k)``, is the
  schedule; otherwise ``eps_n`` from the schedule and the root-find at each
  cell's measured oxide voltage (compensated);
- the float baseline takes the same minibatches and ``eps_n`` times the
  nominal device gain (the learning rate the device realises), and the same clip.

Checkpoints (``checkpoint``): after every ``checkpoint_every`` epochs the whole
state (cells, offsets, energy totals, float weights, RNG states, history) is
written atomically (temp file + rename); ``resume`` continues from it
bit-identically (tests/test_codesign_mlp.py stops a run after k epochs in
process and compares).
"""

from __future__ import annotations

import io
import json
import os
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J
from ..errors import InputError
from .digits import load_digits_split
from .mlp import MLP
from .mlp_config import MLPConfig
from .pulse_model import CellModel, PulseTiming, natural_drop_V, pulse_eval
from .synapses import AmplitudeTable, SynapseArray
from .train import _knee_s

__all__ = ["MLPResult", "train_mlp", "TrainingStopped", "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1
_LAYER_KEYS = ("drawn", "net", "tunnel", "limA", "limB", "pulses", "transitions")


@dataclass
class MLPResult:
    """Outcome of :func:`train_mlp` (``steps``: one row per device update, 0 = init write)."""

    config: MLPConfig
    mlp: MLP
    steps: pd.DataFrame
    synapses: pd.DataFrame
    trace: pd.DataFrame
    summary: dict[str, Any]
    confusion: dict[str, np.ndarray]
    amplitudes: np.ndarray | None = None      # (n_updates, P) signed, with keep_amplitudes
    array: SynapseArray | None = None
    check: pd.DataFrame | None = None
    check_summary: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)


def _sampled_synapses(mlp: MLP, per_layer: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = [rng.choice(np.arange(s.start, s.stop), size=min(per_layer, s.stop - s.start), replace=False)
           for s in mlp.layer_slices]
    return np.sort(np.concatenate(out))


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    from ..outputs import write_bytes_atomic

    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    meta = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
    write_bytes_atomic(path, buf.getvalue())


def check_checkpoint_target(path: Path) -> None:
    """Refuse to overwrite or delete ``path`` unless it is absent or a lim-hw checkpoint (never destroy data).

    A checkpoint is an ``.npz`` holding a JSON ``__meta__`` with ``version`` and
    ``fingerprint`` keys, as :func:`_save_checkpoint` writes it.
    """
    if not os.path.lexists(path):
        return
    fix = "move it away or choose another -o"
    if path.is_symlink() or not path.is_file():
        raise InputError(f"checkpoint path {path} exists and is not a regular file; {fix}")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
        ours = isinstance(meta, dict) and {"version", "fingerprint"} <= meta.keys()
    except (OSError, ValueError, KeyError, EOFError):
        ours = False
    if not ours:
        raise InputError(f"{path} exists and is not a lim-hw training checkpoint; lim-hw will not overwrite "
                         f"or delete it: {fix}")


def _load_checkpoint(path: Path, fingerprint: str) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as z:
            state = {k: z[k] for k in z.files if k != "__meta__"}
            meta = json.loads(str(z["__meta__"]))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read checkpoint {path} ({exc}); delete it to start afresh") from None
    if meta.get("version") != CHECKPOINT_VERSION or meta.get("fingerprint") != fingerprint:
        raise InputError(f"checkpoint {path} was written by another config or version; "
                         "delete it or run without --resume")
    state.update(meta)
    return state


def train_mlp(cfg: MLPConfig, progress: bool = False, checkpoint: str | Path | None = None,
              resume: bool = False, stop_after_epochs: int | None = None,
              keep_amplitudes: bool = False) -> MLPResult:
    """Train the MLP on the device model (module docstring); no ngspice here.

    ``stop_after_epochs`` ends the run early after writing a checkpoint (tests,
    and what an interrupted long run leaves behind); ``keep_amplitudes`` keeps
    every applied amplitude for an independent replay (small runs only).
    """
    t_wall = time.perf_counter()
    if checkpoint is not None:  # before any work: written and deleted only if absent or a lim-hw checkpoint
        check_checkpoint_target(Path(checkpoint))
    card, ts = cfg.card, cfg.training
    dev, prog = card.device, card.programming
    data = load_digits_split(cfg.data)
    mlp = MLP((data.n_features, *cfg.model.hidden, data.n_classes), cfg.model.activation)
    P = mlp.n_params
    n_tr = len(data.y_train)
    spe = n_tr // ts.batch_size
    if spe < 1:
        raise InputError(f"[training] batch_size = {ts.batch_size} exceeds the {n_tr} training images")
    n_steps = spe * ts.epochs
    chk = cfg.check
    if chk.ngspice and chk.first_step + chk.n_steps - 1 > n_steps:
        raise InputError(f"[check] steps {chk.first_step}..{chk.first_step + chk.n_steps - 1} run past the "
                         f"{n_steps} training steps")
    tox, area = cfg.mismatch.draw(card, (2, P))
    arr = SynapseArray(card, tox, area, ts.electrons_per_weight, ts.min_electrons, ts.shot_noise,
                       noise_seed=ts.seed + 1_000_003)
    w_max = cfg.weights.window_V / arr.V_unit if cfg.weights.window_V > 0 else math.inf
    timing = PulseTiming.from_card(card)
    nominal = CellModel.from_card(card)
    t1 = prog.update_start_s(1)
    V_ref = float(dev.V0_V - natural_drop_V(dev.V0_V, t1, nominal.k1_per_s, nominal.k2_V, nominal.law_scales))
    table = AmplitudeTable(nominal, timing, V_ref, ts.min_electrons) if ts.lr == "device" else None
    N_probe = max(ts.eps0 * 0.01 * arr.Q_unit, 1.0)
    Vp_probe = float(table(np.array([N_probe]))[0]) if table is not None else 0.0
    lim_b = {"drive_floor_kT": cfg.energy.lim_b_drive_floor_kT, "eta": cfg.energy.lim_b_eta}
    kT = kT_J(dev.T_K)
    bits_J = prog.precision_bits * kT * math.log(2.0)
    w_init = mlp.init(cfg.model.init_seed)
    rng = np.random.default_rng(ts.seed)
    traced = _sampled_synapses(mlp, chk.synapses_per_layer, chk.seed)
    slices = mlp.layer_slices
    amps = np.zeros((n_steps + 1, P)) if keep_amplitudes else None
    fp = cfg.fingerprint()
    ckpt = Path(checkpoint) if checkpoint is not None else None

    def evaluate(w_dev: np.ndarray, w_soft: np.ndarray) -> dict[str, float]:
        return {"loss_train": mlp.loss(w_dev, data.X_train, data.y_train),
                "acc_train": mlp.accuracy(w_dev, data.X_train, data.y_train),
                "acc_test": mlp.accuracy(w_dev, data.X_test, data.y_test),
                "acc_test_float": mlp.accuracy(w_soft, data.X_test, data.y_test),
                "loss_train_float": mlp.loss(w_soft, data.X_train, data.y_train)}

    def record(n: int, epoch: int, t_s: float, eps: float, gain: float, loss_b: float, res, n_clip_w: int,
               g: np.ndarray | None = None) -> dict:
        row: dict[str, Any] = {"n": n, "epoch": epoch, "t_s": t_s, "eps": eps, "eps_device_gain": gain,
                               "loss_batch": loss_b, "grad_ms": float(np.mean(g * g)) if g is not None else math.nan,
                               "n_pulses": int(res.sel.size), "n_clipped_window": n_clip_w,
                               "n_clipped_V_max": res.n_clipped_V_max, "n_limA_infeasible": res.n_limA_infeasible,
                               "write_error_rms": float(np.sqrt(np.mean((res.N_real / ((gain if gain == gain else 1.0) * res.N_want)
                                                                   - 1.0) ** 2)))
                               if res.sel.size else math.nan}
        per = {"drawn": res.E_drawn_J, "net": res.E_net_J, "tunnel": res.E_tunnel_J, "limA": res.E_limA_J,
               "limB": res.E_limB_J, "pulses": np.ones(res.sel.size), "transitions": res.N_real}
        for li, s in enumerate(slices):
            m = (res.sel >= s.start) & (res.sel < s.stop)
            for k in _LAYER_KEYS:
                row[f"{k}_L{li}"] = float(per[k][m].sum())
        for k in _LAYER_KEYS:
            row[f"{k}_total"] = float(sum(row[f"{k}_L{li}"] for li in range(len(slices))))
        return row

    # ------------------------------------------------------------------ start or resume
    start_epoch = 0
    if resume:
        if ckpt is None or not ckpt.exists():
            raise InputError(f"--resume: no checkpoint at {ckpt}; run without --resume to start")
        st = _load_checkpoint(ckpt, fp)
        arr.set_state({"V": st["V"], "t_prev": st["t_prev"], "offset": st["offset"],
                       "cum": {k: st[f"cum_{k}"] for k in arr.cum}, "noise_rng": st["noise_rng"]})
        rng.bit_generator.state = st["rng"]
        w_soft = np.array(st["w_soft"])
        rows, trace = st["rows"], st["trace"]
        start_epoch, V_nom, t_nom = int(st["epoch"]), float(st["V_nom"]), float(st["t_nom"])
        if amps is not None:
            if "amps" not in st:
                raise InputError("the checkpoint has no amplitudes (keep_amplitudes)")
            amps = np.array(st["amps"])
        elapsed = float(st["wall_s"])
    else:
        arr.decay_to(t1)
        if ts.zero_offset:
            arr.zero()
        res = arr.write(w_init - arr.read(), t1, table, None, dev.R_max_per_s, lim_b)
        if amps is not None:
            amps[0, res.sel] = np.where(res.half == 0, res.V_p_V, -res.V_p_V)
        w_soft = w_init.copy()
        rows = [{**record(0, 0, t1, math.nan, math.nan, math.nan, res, 0), **evaluate(arr.read(), w_soft)}]
        trace = []
        V_nom, t_nom = V_ref, t1
        elapsed = 0.0
    t_loop = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=n_steps, initial=start_epoch * spe, unit="step", desc="training", leave=False)
    for epoch in range(start_epoch + 1, ts.epochs + 1):
        perm = rng.permutation(n_tr)
        for b in range(spe):
            n = (epoch - 1) * spe + b + 1
            t_n = prog.update_start_s(n + 1)
            V_prev = arr.V.copy()
            t_prev = arr.t_prev
            arr.decay_to(t_n)
            V_nom = float(V_nom - natural_drop_V(V_nom, t_n - t_nom, nominal.k1_per_s, nominal.k2_V, nominal.law_scales))
            t_nom = t_n
            idx = perm[b * ts.batch_size:(b + 1) * ts.batch_size]
            Xb, yb = data.X_train[idx], data.y_train[idx]
            w = arr.read()
            loss_b, g = mlp.loss_grad(w, Xb, yb)
            if table is not None:
                eps_n = ts.eps0
                gain = float(pulse_eval(nominal, timing, V_nom, Vp_probe).N_sim) / N_probe
            else:
                eps_n, gain = ts.eps(n, n_steps), 1.0
            target = np.clip(w - eps_n * g, -w_max, w_max)
            n_clip_w = int(np.count_nonzero(target != w - eps_n * g))
            V_before = arr.V.copy()
            res = arr.write(target - w, t_n, table, g, dev.R_max_per_s, lim_b)
            if amps is not None:
                amps[n, res.sel] = np.where(res.half == 0, res.V_p_V, -res.V_p_V)
            _, g_soft = mlp.loss_grad(w_soft, Xb, yb)
            w_soft = np.clip(w_soft - eps_n * gain * g_soft, -w_max, w_max)
            for j in traced:
                pos = np.flatnonzero(res.sel == j)
                trace.append({"synapse": int(j), "n": n, "t_s": t_n, "t_prev_s": t_prev,
                              "V_ox_p_prev_V": float(V_prev[0, j]), "V_ox_m_prev_V": float(V_prev[1, j]),
                              "V_ox_p_V": float(V_before[0, j]), "V_ox_m_V": float(V_before[1, j]),
                              "grad": float(g[j]), "eps": eps_n,
                              "half": ("p" if res.half[pos[0]] == 0 else "m") if pos.size else "",
                              "V_p_V": float(res.V_p_V[pos[0]]) if pos.size else 0.0,
                              "N_model": float(res.N_real[pos[0]]) if pos.size else 0.0})
            row = record(n, epoch, t_n, eps_n, gain, loss_b, res, n_clip_w, g)
            if n % ts.eval_every == 0 or b == spe - 1:
                row.update(evaluate(arr.read(), w_soft))
            rows.append(row)
            if bar is not None:
                bar.update(1)
        if ckpt is not None and (epoch % ts.checkpoint_every == 0 or epoch == stop_after_epochs) \
                and epoch < ts.epochs:
            st = arr.state()
            state = {"version": CHECKPOINT_VERSION, "fingerprint": fp, "epoch": epoch, "t_prev": st["t_prev"],
                     "noise_rng": st["noise_rng"], "rng": rng.bit_generator.state, "rows": rows, "trace": trace,
                     "V_nom": V_nom, "t_nom": t_nom, "wall_s": elapsed + time.perf_counter() - t_loop,
                     "V": st["V"], "offset": st["offset"], "w_soft": w_soft,
                     **{f"cum_{k}": v for k, v in st["cum"].items()}}
            if amps is not None:
                state["amps"] = amps
            _save_checkpoint(ckpt, state)
        if stop_after_epochs is not None and epoch >= stop_after_epochs and epoch < ts.epochs:
            if bar is not None:
                bar.close()
            raise TrainingStopped(epoch)
    if bar is not None:
        bar.close()
    loop_s = elapsed + time.perf_counter() - t_loop
    from .mlp_summary import summarise
    return summarise(cfg, mlp, data, arr, rows, trace, w_soft, n_steps, spe, w_max, bits_J, loop_s,
                     time.perf_counter() - t_wall, amps, _knee_s(nominal, dev.V0_V), table)


class TrainingStopped(Exception):
    """Raised by :func:`train_mlp` after ``stop_after_epochs`` (the checkpoint holds the state)."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"stopped after epoch {epoch}")
        self.epoch = epoch

