"""Online training of a linear classifier whose weights live in differential FN-DAM synapses.

Every weight ``w_j`` is one differential synapse: two FN-DAM cells whose
floating-gate voltages give ``w_j = (V_fg,+ - V_fg,-) / V_unit`` with
``V_unit = electrons_per_weight * q / C_T`` (volts per unit weight). Both
halves decay together (the common mode cancels in ``w``); an update pulses one
half: removing ``N`` electrons from the + half raises ``w`` by
``N / electrons_per_weight``, from the - half lowers it.

One training step n (at ``t_n = first_update_s + (n - 1) period_s``):

1. all cells decay freely since the last step (closed form, theory.md s.5);
2. the controller reads the weights from the floating-gate voltages and
   computes the gradient ``g`` of the cross-entropy on a minibatch (Python);
3. the update ``dw = -eps_n g`` becomes a transition count
   ``N = |dw| * electrons_per_weight`` on the half picked by the sign of ``dw``
   (updates under ``min_electrons`` are skipped);
4. the pulse amplitude comes from the closed-form synthesis root-find
   (:func:`lim_hw.codesign.pulse_model.solve_amplitudes`, vectorised over all
   synapses) on the controller's *nominal* cell model:

   - ``lr = inverse | power | exponential | constant``: ``eps_n`` follows that
     schedule (:class:`lim_hw.theory.ScheduleSpec` formulas) and the root-find
     uses the measured oxide voltage of the pulsed cell, so it compensates the
     device's decay of write sensitivity;
   - ``lr = device``: ``eps_n = eps0`` and the amplitude map is calibrated once
     on the nominal cell at the first update; the write sensitivity of a cell
     then falls as the FN current, ``~ V^2/(k1 t + k0)`` (theory.md s.5), so the
     device supplies an O(1/t) learning-rate schedule by itself,
     ``eps_eff ~ eps0 (t_1 + t_k)/(t_n + t_k)`` with ``t_k = k0/k1`` -- the
     "inverse" schedule with ``n0 = (t_1 + t_k)/period``. (A fixed pulse
     multiplies the current by ~``exp(kappa V_p k2/V^2)``, which grows as
     ``V_ox`` falls, so the gain stays somewhat above the pure 1/t form: +19 %
     after 200 steps with the defaults. ``history.csv`` records it as
     ``eps_device_gain``);

   Before the first update the controller reads each synapse once and takes
   the reading as its zero (``zero_offset``, default on): both halves start at
   the same voltage at t = 0, but with mismatch they decay differently, and a
   0.2 % oxide-thickness difference alone shifts ``V_fg+ - V_fg-`` by ~15 mV
   (tens of weight units) by t = 1000 s. After zeroing, the remaining drift
   during training (~1 unit over 2000 s) is what the online learning tracks.

5. the *actual* cell (per-cell mismatch of oxide thickness and junction area,
   seeded) receives the pulse: :func:`lim_hw.codesign.pulse_model.pulse_eval`
   gives its new state, the transitions it really made, and the energy of the
   update (drawn / net / tunnelling, the same accounting as the ngspice flow);
   optionally the electron count is Poisson (shot noise, also in free decay).

Energies are reported per parameter, cumulative over training, next to the LIM
bound of the updates made (``N (E0 + |dE|)``, ``E0`` from Performance Walls
Eq. 4 at the rate ``N / pulse_width`` and ``eps_eff = N / (electrons_per_weight |g|)``,
``|dE| = kT eps_eff g^2``), the Landauer reference (``precision_bits kT ln 2``
per parameter per step) and a conventional digital update
(:data:`CONVENTIONAL_UPDATE_J` per parameter per step, see there).

A window of updates of one synapse is re-simulated in ngspice and compared
with the model (:func:`ngspice_check_training`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..constants import kT_J, q_C
from ..device.card import Card, card_to_dict, default_card, load_card
from ..errors import InputError
from ..tomlfile import read_toml
from ..theory.lim import feasible_barrier
from ..theory.schedules import ScheduleSpec, eps_at
from .datasets import Dataset, DataSpec, _integer, _number, make_dataset
from .replay import replay_synapse
from .pulse_model import V_P_MAX_V, CellModel, PulseTiming, natural_drop_V, pulse_eval, solve_amplitudes

__all__ = ["CONVENTIONAL_UPDATE_J", "CONVENTIONAL_SOURCE", "TrainingSpec", "MismatchSpec", "CheckSpec",
           "TrainConfig", "load_train_config", "train_config_from_dict", "TrainResult", "train",
           "ngspice_check_training", "LR_KINDS"]

#: Conventional digital weight update assumed for comparison (J per parameter per step).
CONVENTIONAL_UPDATE_J = 10e-12
#: Where that figure comes from.
CONVENTIONAL_SOURCE = (
    "~10 pJ per 32-bit weight update: SRAM read + write of a 32-bit word, ~5 pJ each from the "
    "10 pJ per 64-bit access of an 8 kB SRAM in 45 nm (M. Horowitz, 'Computing's energy problem', "
    "ISSCC 2014, Fig. 1.1.9); excludes the FP32 multiply-add (~4.6 pJ) and DRAM traffic "
    "(1.3-2.6 nJ per 64 bits)")

LR_KINDS = ("inverse", "power", "exponential", "constant", "device")


# =============================================================================== config
def training_fields(cls: type, d: Mapping[str, Any], int_keys: tuple[str, ...]) -> dict[str, Any]:
    """Validated ``[training]`` keys of ``cls`` (shared by the linear and the MLP trainer); ``int_keys`` >= 1."""
    kw: dict[str, Any] = {}
    for k, v in _known("training", d, cls).items():
        if k == "lr":
            if v not in LR_KINDS:
                raise InputError(f"[training] lr = {v!r} is not one of {', '.join(LR_KINDS)}")
            kw[k] = v
        elif k in ("shot_noise", "zero_offset"):
            if not isinstance(v, bool):
                raise InputError(f"[training] {k} must be true or false, got {v!r}")
            kw[k] = v
        elif k in int_keys:
            kw[k] = _integer("training", k, v, lo=1)
        elif k == "seed":
            kw[k] = _integer("training", k, v, lo=0)
        elif k == "gamma":
            kw[k] = _number("training", k, v, positive=True, hi=1.0)
        elif k == "min_electrons":
            kw[k] = _number("training", k, v, lo=0.0)
        elif k == "electrons_per_weight":
            kw[k] = _number("training", k, v, positive=True, hi=1e9)
        else:
            kw[k] = _number("training", k, v, positive=True)
    return kw


def card_from_config(d: Mapping[str, Any], base_dir: Path | None) -> Card:
    """The device card of a training config: ``[card] path`` (or the built-in) with table overrides."""
    card_tab = d.get("card", {})
    if not isinstance(card_tab, Mapping):
        raise InputError("[card] must be a table with an optional key path = \"card.toml\"")
    for k in card_tab:
        if k != "path":
            raise InputError(f"unknown key [card] {k}; the only key is path (a device card TOML)")
    path = card_tab.get("path", "")
    if not isinstance(path, str):
        raise InputError("[card] path must be a string (a device card TOML, relative to the config)")
    if path:
        p = Path(path).expanduser()
        if base_dir is not None and not p.is_absolute():
            p = base_dir / p
        card = load_card(p)
    else:
        card = default_card()
    overrides = {sec: d[sec] for sec in ("device", "programming", "simulation") if sec in d}
    for sec, tab in overrides.items():
        if not isinstance(tab, Mapping):
            raise InputError(f"[{sec}] must be a TOML table of card keys")
    return card.with_updates(**overrides) if overrides else card


@dataclass(frozen=True)
class TrainingSpec:
    """The ``[training]`` table: SGD and how updates become pulses."""

    n_steps: int = 300
    batch_size: int = 16
    lr: str = "device"
    eps0: float = 0.5
    n0: float = 20.0
    p: float = 1.0
    gamma: float = 0.99
    electrons_per_weight: float = 5000.0
    min_electrons: float = 0.5
    shot_noise: bool = False
    zero_offset: bool = True
    eval_every: int = 5
    seed: int = 2

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainingSpec":
        kw = training_fields(cls, d, ("n_steps", "batch_size", "eval_every"))
        spec = cls(**kw)
        if spec.n_steps > 100_000:
            raise InputError("[training] n_steps above 100000 is not supported; train in chunks")
        return spec

    def schedule(self) -> ScheduleSpec:
        kind = "constant" if self.lr == "device" else self.lr
        return ScheduleSpec(kind=kind, n_updates=self.n_steps, eps0=self.eps0, n0=self.n0, p=self.p,
                            gamma=min(self.gamma, 0.999999999))

    def eps(self, n: int) -> float:
        return float(eps_at(self.schedule(), np.asarray([float(n)]))[0])


@dataclass(frozen=True)
class MismatchSpec:
    """The ``[mismatch]`` table: per-cell relative spread of oxide thickness and junction area."""

    tox_rel_sigma: float = 0.001
    area_rel_sigma: float = 0.02
    distribution: str = "lognormal"
    seed: int = 3

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MismatchSpec":
        kw: dict[str, Any] = {}
        for k, v in _known("mismatch", d, cls).items():
            if k == "distribution":
                if v not in ("lognormal", "normal"):
                    raise InputError(f"[mismatch] distribution = {v!r} is not lognormal or normal")
                kw[k] = v
            elif k == "seed":
                kw[k] = _integer("mismatch", k, v, lo=0)
            else:
                kw[k] = _number("mismatch", k, v, lo=0.0, hi=0.2)
        return cls(**kw)

    def draw(self, card: Card, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell (tox_m, area_m2) arrays; the median is the card's value."""
        rng = np.random.default_rng(self.seed)
        z1, z2 = rng.standard_normal(shape), rng.standard_normal(shape)
        if self.distribution == "lognormal":
            ft, fa = np.exp(self.tox_rel_sigma * z1), np.exp(self.area_rel_sigma * z2)
        else:
            ft = np.clip(1.0 + self.tox_rel_sigma * z1, 0.5, 1.5)
            fa = np.clip(1.0 + self.area_rel_sigma * z2, 0.05, 3.0)
        return card.device.tox_m * ft, card.device.area_m2 * fa


@dataclass(frozen=True)
class CheckSpec:
    """The ``[check]`` table: which updates of which synapse ngspice re-simulates."""

    ngspice: bool = True
    synapse: int = 0
    first_step: int = 1
    n_steps: int = 4
    engine: str = "batch"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CheckSpec":
        kw: dict[str, Any] = {}
        for k, v in _known("check", d, cls).items():
            if k == "ngspice":
                if not isinstance(v, bool):
                    raise InputError(f"[check] ngspice must be true or false, got {v!r}")
                kw[k] = v
            elif k == "engine":
                if v not in ("batch", "shared"):
                    raise InputError(f"[check] engine = {v!r} is not batch or shared")
                kw[k] = v
            else:
                kw[k] = _integer("check", k, v, lo=0 if k == "synapse" else 1)
        spec = cls(**kw)
        if spec.n_steps > 50:
            raise InputError("[check] n_steps above 50 makes the ngspice window slow; use <= 50")
        return spec


@dataclass(frozen=True)
class TrainConfig:
    """A complete training run: card, data, training, mismatch, ngspice check, energy reference."""

    card: Card = field(default_factory=default_card)
    data: DataSpec = field(default_factory=DataSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    mismatch: MismatchSpec = field(default_factory=MismatchSpec)
    check: CheckSpec = field(default_factory=CheckSpec)
    conventional_update_J: float = CONVENTIONAL_UPDATE_J
    name: str = "train"

    def to_dict(self) -> dict[str, Any]:
        return {"card": card_to_dict(self.card), "data": dataclasses.asdict(self.data),
                "training": dataclasses.asdict(self.training), "mismatch": dataclasses.asdict(self.mismatch),
                "check": dataclasses.asdict(self.check),
                "energy": {"conventional_update_J": self.conventional_update_J,
                           "conventional_source": CONVENTIONAL_SOURCE}}


def _known(section: str, d: Mapping[str, Any], cls: type) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise InputError(f"[{section}] must be a TOML table")
    allowed = [f.name for f in dataclasses.fields(cls)]
    for k in d:
        if k not in allowed:
            raise InputError(f"unknown key [{section}] {k}; allowed keys: {', '.join(allowed)}")
    return dict(d)


_TOP = ("card", "device", "programming", "simulation", "data", "training", "mismatch", "check", "energy")


def train_config_from_dict(d: Mapping[str, Any], base_dir: Path | None = None, name: str = "train") -> TrainConfig:
    """Validate a parsed training config (see docs/codesign.md for the keys)."""
    for k in d:
        if k not in _TOP:
            raise InputError(f"unknown table [{k}] in the training config; allowed: {', '.join(_TOP)}")
    card = card_from_config(d, base_dir)
    energy = d.get("energy", {})
    if not isinstance(energy, Mapping):
        raise InputError("[energy] must be a table")
    for k in energy:
        if k != "conventional_update_J":
            raise InputError(f"unknown key [energy] {k}; the only key is conventional_update_J")
    conv = _number("energy", "conventional_update_J", energy.get("conventional_update_J", CONVENTIONAL_UPDATE_J),
                   positive=True)
    cfg = TrainConfig(card=card, data=DataSpec.from_dict(d.get("data", {})),
                      training=TrainingSpec.from_dict(d.get("training", {})),
                      mismatch=MismatchSpec.from_dict(d.get("mismatch", {})),
                      check=CheckSpec.from_dict(d.get("check", {})), conventional_update_J=conv, name=name)
    n_params = _n_params(cfg.data.n_features, cfg.data.n_classes)
    if cfg.check.synapse >= n_params:
        raise InputError(f"[check] synapse = {cfg.check.synapse} but the model has {n_params} weights "
                         f"(0..{n_params - 1})")
    if cfg.check.first_step + cfg.check.n_steps - 1 > cfg.training.n_steps:
        raise InputError(f"[check] steps {cfg.check.first_step}..{cfg.check.first_step + cfg.check.n_steps - 1} "
                         f"run past training.n_steps = {cfg.training.n_steps}")
    return cfg


def load_train_config(path: str | Path) -> TrainConfig:
    """Read and validate a training config TOML (relative card paths resolve from its folder)."""
    path = Path(path)
    data, _ = read_toml(path, "training config")
    return train_config_from_dict(data, base_dir=path.resolve().parent, name=path.stem)


# =============================================================================== model
def _n_params(d: int, K: int) -> int:
    return (d + 1) if K == 2 else K * (d + 1)


def _augment(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _loss_grad(w: np.ndarray, Xa: np.ndarray, y: np.ndarray, K: int) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient for logistic (K = 2) or softmax regression."""
    if K == 2:
        z = Xa @ w
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
        return loss, Xa.T @ (p - y) / len(y)
    W = w.reshape(K, -1)
    Z = Xa @ W.T
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(np.maximum(P[np.arange(len(y)), y], 1e-300))))
    P[np.arange(len(y)), y] -= 1.0
    return loss, (P.T @ Xa / len(y)).ravel()


def _predict(w: np.ndarray, Xa: np.ndarray, K: int) -> np.ndarray:
    if K == 2:
        return (Xa @ w > 0).astype(int)
    return np.argmax(Xa @ w.reshape(K, -1).T, axis=1)


def _accuracy(w: np.ndarray, Xa: np.ndarray, y: np.ndarray, K: int) -> float:
    return float(np.mean(_predict(w, Xa, K) == y))


# =============================================================================== training
@dataclass
class TrainResult:
    """Outcome of :func:`train`."""

    config: TrainConfig
    dataset: Dataset
    history: pd.DataFrame          # one row per step
    weights: pd.DataFrame          # final device and software weights, per-cell mismatch
    trace: pd.DataFrame            # per step, the synapse chosen for the ngspice check
    summary: dict[str, Any]
    check: pd.DataFrame | None = None
    check_summary: dict[str, Any] | None = None


def _knee_s(cell: CellModel, V0_V: float) -> float:
    """``t_k = k0 / k1`` (s): the write sensitivity of a cell falls as ``1/(t + t_k)``."""
    x = float(cell.k2_V) / V0_V - math.log(float(cell.k1_per_s))
    return math.exp(x) if x < 700 else math.inf


def _cell_subset(cell: CellModel, k1: np.ndarray, k2: np.ndarray) -> CellModel:
    return dataclasses.replace(cell, k1_per_s=k1, k2_V=k2)


def train(cfg: TrainConfig, progress: bool = False) -> TrainResult:
    """Train the classifier on the device model (see the module docstring). No ngspice here."""
    t_wall = time.perf_counter()
    card, ts, data = cfg.card, cfg.training, make_dataset(cfg.data)
    dev, prog = card.device, card.programming
    K = data.n_classes
    Xa_tr, Xa_te = _augment(data.X_train), _augment(data.X_test)
    y_tr, y_te = data.y_train, data.y_test
    P = _n_params(data.n_features, K)
    Q_unit = ts.electrons_per_weight
    V_unit = Q_unit * q_C / dev.C_T_F
    kT = kT_J(dev.T_K)
    timing = PulseTiming.from_card(card)
    window = float(timing.window_s)
    nominal = CellModel.from_card(card)
    tox, area = cfg.mismatch.draw(card, (2, P))            # row 0: + halves, row 1: - halves
    cells = CellModel.from_card(card, tox, area)
    k1 = np.broadcast_to(cells.k1_per_s, (2, P)).copy()
    k2 = np.broadcast_to(cells.k2_V, (2, P)).copy()
    rng = np.random.default_rng(ts.seed)
    noise_rng = np.random.default_rng(ts.seed + 1_000_003)
    V = np.full((2, P), dev.V0_V)                          # oxide voltages
    t_prev = 0.0
    w_soft = np.zeros(P)
    # nominal write-sensitivity reference (lr = device): the nominal cell at the first update
    t1 = prog.update_start_s(1)
    V_ref = float(dev.V0_V - natural_drop_V(dev.V0_V, t1, nominal.k1_per_s, nominal.k2_V, nominal.law_scales))
    V_nom, t_nom = V_ref, t1
    N_probe = max(ts.eps0 * 0.25 * Q_unit, 1.0)
    Vp_probe = float(solve_amplitudes(nominal, timing, V_ref, N_probe))
    cum = {k: np.zeros(P) for k in ("drawn", "net", "tunnel", "bound", "pulses")}
    rows: list[dict[str, Any]] = [{
        "n": 0, "t_s": 0.0, "eps": math.nan, "eps_device_gain": math.nan, "loss_batch": math.nan, "n_pulses": 0,
        "V_p_mean_V": 0.0, "write_error_rms": math.nan, **{f"E_{k}_cum_J": 0.0 for k in
                                                           ("drawn", "net", "tunnel", "bound", "landauer",
                                                            "conventional")},
        "loss_train": _loss_grad(w_soft, Xa_tr, y_tr, K)[0], "acc_train": _accuracy(w_soft, Xa_tr, y_tr, K),
        "acc_test": _accuracy(w_soft, Xa_te, y_te, K), "acc_test_software": _accuracy(w_soft, Xa_te, y_te, K)}]
    trace: list[dict[str, Any]] = []
    j_chk = cfg.check.synapse
    n_clipped = 0
    n_infeasible_bound = 0
    for n in range(1, ts.n_steps + 1):
        t_n = prog.update_start_s(n)
        # 1. free decay of every cell since the last step
        d = natural_drop_V(V, t_n - t_prev, k1, k2, nominal.law_scales)
        if ts.shot_noise:
            lam = dev.C_T_F * d / q_C
            d = noise_rng.poisson(lam) * q_C / dev.C_T_F
        V_before_prev = V.copy()
        V = V - d
        # nominal decay-only trajectory (for the effective device learning rate)
        V_nom = float(V_nom - natural_drop_V(V_nom, t_n - t_nom, nominal.k1_per_s, nominal.k2_V, nominal.law_scales))
        t_nom = t_n
        # 2. read weights (offset read once before the first update), gradient on a minibatch
        if n == 1:
            offset = (V[1] - V[0]) / V_unit if ts.zero_offset else np.zeros(P)
        w = (V[1] - V[0]) / V_unit - offset
        idx = rng.integers(0, len(y_tr), size=ts.batch_size)
        loss_b, g = _loss_grad(w, Xa_tr[idx], y_tr[idx], K)
        if ts.lr == "device":
            eps_n = ts.eps0
            gain = float(pulse_eval(nominal, timing, V_nom, Vp_probe).N_sim) / N_probe
        else:
            eps_n = ts.eps(n)
            gain = 1.0
        _, g_soft = _loss_grad(w_soft, Xa_tr[idx], y_tr[idx], K)
        w_soft = w_soft - eps_n * gain * g_soft
        # 3. transitions wanted and which half
        dw = -eps_n * g
        N_want = np.abs(dw) * Q_unit
        half = np.where(dw > 0, 0, 1)                       # 0: + half, 1: - half
        sel = np.flatnonzero(N_want >= max(ts.min_electrons, 1e-9))
        cols = half[sel]
        V_tgt = V[cols, sel]
        # 4. amplitudes from the controller's nominal model
        if ts.lr == "device":
            Vp = solve_amplitudes(nominal, timing, np.full(sel.size, V_ref), N_want[sel], strict=False)
        else:
            Vp = solve_amplitudes(nominal, timing, V_tgt, N_want[sel], strict=False)
        clipped = ~np.isfinite(Vp)
        n_clipped += int(clipped.sum())
        Vp = np.where(clipped, V_P_MAX_V, Vp)
        # 5. the actual (mismatched) cells receive the pulses; the rest decay over the window
        V_after = V - natural_drop_V(V, window, k1, k2, nominal.law_scales)
        N_real = np.zeros(sel.size)
        if sel.size:
            ev = pulse_eval(_cell_subset(nominal, k1[cols, sel], k2[cols, sel]), timing, V_tgt, Vp)
            N_real = np.maximum(ev.N_sim, 0.0)
            Va = ev.V_after_V
            if ts.shot_noise:
                tot = ev.N_sim + ev.N_natural
                Va = Va - (noise_rng.poisson(np.maximum(tot, 0.0)) - tot) * q_C / dev.C_T_F
            V_after[cols, sel] = Va
            cum["drawn"][sel] += ev.E_drawn_J
            cum["net"][sel] += ev.E_net_J
            cum["tunnel"][sel] += ev.E_tunnel_J
            cum["pulses"][sel] += 1
            # LIM bound of the updates made
            gs = np.abs(g[sel])
            ok = (N_real > 0) & (gs > 0)
            if ok.any():
                eps_eff = N_real[ok] / (Q_unit * gs[ok])
                R = N_real[ok] / prog.pulse_width_s
                E0, feas, _ = feasible_barrier(R, dev.R_max_per_s, eps_eff, gs[ok], dev.T_K)
                E0 = np.atleast_1d(E0)
                n_infeasible_bound += int(np.count_nonzero(~np.atleast_1d(feas)))
                cum["bound"][sel[ok]] += N_real[ok] * (E0 + kT * eps_eff * gs[ok] ** 2)
        if j_chk < P:
            pos = np.flatnonzero(sel == j_chk)
            trace.append({
                "n": n, "t_s": t_n, "t_prev_s": t_prev, "V_ox_p_prev_V": V_before_prev[0, j_chk],
                "V_ox_m_prev_V": V_before_prev[1, j_chk], "V_ox_p_V": V[0, j_chk], "V_ox_m_V": V[1, j_chk],
                "grad": g[j_chk], "eps": eps_n, "N_want": N_want[j_chk],
                "half": ("p" if cols[pos[0]] == 0 else "m") if pos.size else "",
                "V_p_V": float(Vp[pos[0]]) if pos.size else 0.0,
                "N_model": float(N_real[pos[0]]) if pos.size else 0.0,
            })
        V = V_after
        t_prev = t_n + window
        # 6. bookkeeping
        row = {"n": n, "t_s": t_n, "eps": eps_n, "eps_device_gain": gain, "loss_batch": loss_b,
               "n_pulses": int(sel.size), "V_p_mean_V": float(Vp.mean()) if sel.size else 0.0,
               "write_error_rms": float(np.sqrt(np.mean((N_real / (gain * N_want[sel]) - 1.0) ** 2)))
               if sel.size else math.nan,
               "E_drawn_cum_J": float(cum["drawn"].mean()), "E_net_cum_J": float(cum["net"].mean()),
               "E_tunnel_cum_J": float(cum["tunnel"].mean()), "E_bound_cum_J": float(cum["bound"].mean()),
               "E_landauer_cum_J": n * prog.precision_bits * kT * math.log(2.0),
               "E_conventional_cum_J": n * cfg.conventional_update_J}
        if n % ts.eval_every == 0 or n == ts.n_steps or n == 1:
            w_now = (V[1] - V[0]) / V_unit - offset
            row.update({"loss_train": _loss_grad(w_now, Xa_tr, y_tr, K)[0],
                        "acc_train": _accuracy(w_now, Xa_tr, y_tr, K),
                        "acc_test": _accuracy(w_now, Xa_te, y_te, K),
                        "acc_test_software": _accuracy(w_soft, Xa_te, y_te, K)})
        rows.append(row)
        if progress and n % max(1, ts.n_steps // 10) == 0:  # pragma: no cover - cosmetic
            print(f"  step {n}/{ts.n_steps}: test accuracy {row.get('acc_test', float('nan')):.3f}")
    hist = pd.DataFrame(rows)
    w_dev = (V[1] - V[0]) / V_unit - offset
    weights = pd.DataFrame({"j": np.arange(P), "w_device": w_dev, "w_software": w_soft, "offset": offset,
                            "tox_p_m": tox[0], "tox_m_m": tox[1], "area_p_m2": area[0], "area_m_m2": area[1],
                            "V_ox_p_V": V[0], "V_ox_m_V": V[1], "pulses": cum["pulses"],
                            "E_drawn_J": cum["drawn"], "E_tunnel_J": cum["tunnel"], "E_bound_J": cum["bound"]})
    last = hist.iloc[-1]
    n_updates = float(cum["pulses"].mean())
    hist["write_error_rms"] = hist["write_error_rms"].astype(float)
    E_dev = float(last["E_drawn_cum_J"])
    summary = {
        "name": cfg.name, "dataset": data.info, "n_parameters": P,
        "lr": ts.lr, "eps0": ts.eps0, "n_steps": ts.n_steps, "shot_noise": ts.shot_noise,
        "electrons_per_weight": Q_unit, "V_per_unit_weight_V": V_unit,
        "mismatch": dataclasses.asdict(cfg.mismatch),
        "pulse": {"shape": prog.shape, "pulse_width_s": prog.pulse_width_s, "rise_s": prog.rise_s,
                  "period_s": prog.period_s, "first_update_s": prog.first_update_s},
        "final": {"acc_test": float(last["acc_test"]), "acc_train": float(last["acc_train"]),
                  "acc_test_software": float(last["acc_test_software"]),
                  "bayes_accuracy": data.info.get("bayes_accuracy"), "loss_train": float(last["loss_train"])},
        "updates_per_parameter_mean": n_updates,
        "pulses_clipped_at_V_max": n_clipped, "bound_steps_infeasible": n_infeasible_bound,
        "write_error_rms_mean": float(hist["write_error_rms"].mean()),
        "energy_per_parameter_J": {
            "device_drawn": E_dev, "device_net": float(last["E_net_cum_J"]),
            "device_tunnelling": float(last["E_tunnel_cum_J"]), "lim_bound": float(last["E_bound_cum_J"]),
            "landauer": float(last["E_landauer_cum_J"]), "conventional_digital": float(last["E_conventional_cum_J"]),
        },
        "energy_per_update_J": {
            "device_drawn": E_dev / n_updates if n_updates else math.nan,
            "device_tunnelling": float(last["E_tunnel_cum_J"]) / n_updates if n_updates else math.nan,
            "lim_bound": float(last["E_bound_cum_J"]) / n_updates if n_updates else math.nan,
            "landauer": prog.precision_bits * kT * math.log(2.0),
            "conventional_digital": cfg.conventional_update_J,
        },
        "ratios": {
            "drawn_to_bound": E_dev / float(last["E_bound_cum_J"]) if last["E_bound_cum_J"] > 0 else math.nan,
            "drawn_to_landauer": E_dev / float(last["E_landauer_cum_J"]),
            "conventional_to_drawn": float(last["E_conventional_cum_J"]) / E_dev if E_dev > 0 else math.nan,
            "tunnelling_to_bound": float(last["E_tunnel_cum_J"]) / float(last["E_bound_cum_J"])
            if last["E_bound_cum_J"] > 0 else math.nan,
        },
        "conventional_update_J": cfg.conventional_update_J, "conventional_source": CONVENTIONAL_SOURCE,
        "device_lr_knee_s": _knee_s(nominal, dev.V0_V), "zero_offset": ts.zero_offset,
        "wall_s": time.perf_counter() - t_wall,
    }
    return TrainResult(cfg, data, hist, weights, pd.DataFrame(trace), summary)


# =============================================================================== ngspice check
CHECK_COLUMNS = ("n", "half", "V_p_V", "N_model", "N_ngspice", "rel_N", "dV_fg_model_V", "dV_fg_ngspice_V",
                 "dw_model", "dw_ngspice", "E_drawn_model_J", "E_drawn_ngspice_J", "E_tunnel_model_J",
                 "E_tunnel_ngspice_J")


def ngspice_check_training(result: TrainResult, first_step: int | None = None, n_steps: int | None = None,
                           synapse: int | None = None, engine: str | None = None
                           ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Re-simulate updates ``first_step .. first_step + n_steps - 1`` of one synapse in ngspice.

    Each half is one cell testbench (its own mismatched ``tox``/``area``), started
    at the end of the previous update window from the oxide voltage the model had
    there (:func:`lim_hw.codesign.ngspice_check.ngspice_window`); it receives exactly
    the pulses training gave it. The model side replays the same window
    deterministically. Per update: transitions, floating-gate step beyond natural
    decay ``dV_fg = N q / C_T``, weight change, energies.
    """
    cfg = result.config
    chk = cfg.check
    first = chk.first_step if first_step is None else int(first_step)
    count = chk.n_steps if n_steps is None else int(n_steps)
    j = chk.synapse if synapse is None else int(synapse)
    if j != chk.synapse:
        raise InputError(f"only synapse {chk.synapse} was traced during training; set [check] synapse = {j}")
    tr = result.trace
    win = tr[(tr["n"] >= first) & (tr["n"] < first + count)]
    if win.empty:
        raise InputError(f"no training steps {first}..{first + count - 1} to check")
    W = result.weights.iloc[j]
    cells = {h: (float(W[f"tox_{h}_m"]), float(W[f"area_{h}_m2"])) for h in ("p", "m")}
    rows, end_checks = replay_synapse(cfg.card, cells, win, cfg.training.electrons_per_weight,
                                      engine or chk.engine)
    df = pd.DataFrame(rows, columns=[c for c in CHECK_COLUMNS if c != "rel_N"])
    if not df.empty:
        df["rel_N"] = df["N_model"] / df["N_ngspice"] - 1.0
        df = df.sort_values(["n", "half"]).reset_index(drop=True)[list(CHECK_COLUMNS)]
    summary = {
        "synapse": j, "steps": [first, first + count - 1], "n_updates_checked": int(len(df)),
        "max_abs_rel_N": float(df["rel_N"].abs().max()) if len(df) else math.nan,
        "max_abs_dV_fg_diff_V": float((df["dV_fg_model_V"] - df["dV_fg_ngspice_V"]).abs().max()) if len(df) else math.nan,
        "max_abs_rel_drawn": float((df["E_drawn_model_J"] / df["E_drawn_ngspice_J"] - 1).abs().max()) if len(df) else math.nan,
        "max_abs_rel_tunnel": float((df["E_tunnel_model_J"] / df["E_tunnel_ngspice_J"] - 1).abs().max()) if len(df) else math.nan,
        "window_end": end_checks,
    }
    return df, summary


# =============================================================================== outputs
TRAIN_OUTPUT_FILES = ("history.csv", "weights.csv", "trace.csv", "summary.json", "training.png", "card.toml",
                      "ngspice_check.csv")


def write_train_outputs(result: TrainResult, out_dir: str | Path) -> list[str]:
    """Write a training run into ``out_dir`` atomically (the directory appears whole or not at all)."""
    from ..device.card import card_to_toml
    from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
    from ..provenance import versions
    from .plots import plot_training

    summary = {**result.summary, "config": result.config.to_dict(), "versions": versions()}
    if result.check_summary is not None:
        summary["ngspice_check"] = result.check_summary
    files = ["history.csv", "weights.csv", "trace.csv", "summary.json", "training.png", "card.toml"]
    with atomic_directory(out_dir, kind="train") as tmp:
        write_csv_atomic(tmp / "history.csv", result.history)
        write_csv_atomic(tmp / "weights.csv", result.weights)
        write_csv_atomic(tmp / "trace.csv", result.trace)
        if result.check is not None:
            write_csv_atomic(tmp / "ngspice_check.csv", result.check)
            files.append("ngspice_check.csv")
        write_json_atomic(tmp / "summary.json", _jsonable(summary))
        write_text_atomic(tmp / "card.toml", card_to_toml(result.config.card,
                                                          header=f"device card of training run '{result.config.name}'"))
        plot_training(result.history, result.summary, tmp / "training.png")
    return files


def _jsonable(obj: Any) -> Any:
    """numpy scalars -> Python, non-finite floats -> None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj
