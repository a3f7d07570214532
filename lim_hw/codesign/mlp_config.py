"""The config of ``lim-hw train`` for an MLP on the digits (``[model] kind = "mlp"``).

Tables: ``[card]`` (path), ``[device]``/``[programming]``/``[simulation]`` (card
overrides), ``[model]``, ``[data]`` (:class:`~lim_hw.codesign.digits.DigitsSpec`),
``[training]``, ``[weights]``, ``[mismatch]`` (as the linear model),
``[check]`` and ``[energy]``; examples/train_digits.toml lists every key.
Unknown keys, wrong types and out-of-range values raise a one-line InputError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..device.card import Card, card_to_dict, default_card
from ..errors import InputError
from ..theory.schedules import ScheduleSpec, eps_at
from .datasets import _integer, _number
from .digits import DigitsSpec
from .mlp import ACTIVATIONS
from .train import (CONVENTIONAL_SOURCE, CONVENTIONAL_UPDATE_J, MismatchSpec, _known, card_from_config,
                    training_fields)

__all__ = ["ModelSpec", "MLPTrainingSpec", "WeightSpec", "SampleCheckSpec", "EnergySpec", "MLPConfig",
           "mlp_config_from_dict", "is_mlp_config"]


@dataclass(frozen=True)
class ModelSpec:
    """``[model]``: layer sizes after the 64 inputs (hidden..., 10 outputs are implied)."""

    kind: str = "mlp"
    hidden: tuple[int, ...] = (32,)
    activation: str = "tanh"
    init_seed: int = 4

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModelSpec":
        kw: dict[str, Any] = {}
        for k, v in _known("model", d, cls).items():
            if k == "kind":
                if v != "mlp":
                    raise InputError(f"[model] kind = {v!r} is not \"mlp\" (omit [model] for the linear classifier)")
                kw[k] = v
            elif k == "hidden":
                if not isinstance(v, list) or not v or len(v) > 4:
                    raise InputError("[model] hidden must be a list of 1 to 4 layer widths, e.g. [32]")
                kw[k] = tuple(_integer("model", "hidden", x, lo=1) for x in v)
                if max(kw[k]) > 4096:
                    raise InputError("[model] hidden layers above 4096 units are not supported")
            elif k == "activation":
                if v not in ACTIVATIONS:
                    raise InputError(f"[model] activation = {v!r} is not one of {', '.join(ACTIVATIONS)}")
                kw[k] = v
            else:
                kw[k] = _integer("model", k, v, lo=0)
        return cls(**kw)


@dataclass(frozen=True)
class MLPTrainingSpec:
    """``[training]``: minibatch SGD and how updates become pulses."""

    epochs: int = 20
    batch_size: int = 32
    lr: str = "device"
    eps0: float = 1.0
    n0: float = 233.0
    p: float = 1.0
    gamma: float = 0.999
    electrons_per_weight: float = 5000.0
    min_electrons: float = 0.5
    shot_noise: bool = False
    zero_offset: bool = True
    eval_every: int = 10
    checkpoint_every: int = 5
    seed: int = 2

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MLPTrainingSpec":
        kw = training_fields(cls, d, ("epochs", "batch_size", "eval_every", "checkpoint_every"))
        spec = cls(**kw)
        if spec.epochs > 10_000:
            raise InputError("[training] epochs above 10000 is not supported")
        return spec

    def eps(self, n: int, n_steps: int) -> float:
        """Learning rate of step ``n`` for the compensated schedules (theory/schedules.py formulas)."""
        kind = "constant" if self.lr == "device" else self.lr
        spec = ScheduleSpec(kind=kind, n_updates=n_steps, eps0=self.eps0, n0=self.n0, p=self.p,
                            gamma=min(self.gamma, 0.999999999))
        return float(eps_at(spec, np.asarray([float(n)]))[0])


@dataclass(frozen=True)
class WeightSpec:
    """``[weights]``: the differential floating-gate window ``|V_fg+ - V_fg-| <= window_V`` (V).

    The controller clips every requested weight to ``+-window_V / V_unit``
    (``V_unit = electrons_per_weight q / C_T``); 0 = no clip.
    """

    window_V: float = 0.032

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WeightSpec":
        kw = {k: _number("weights", k, v, lo=0.0, hi=5.0) for k, v in _known("weights", d, cls).items()}
        return cls(**kw)


@dataclass(frozen=True)
class SampleCheckSpec:
    """``[check]``: ngspice replays a window of updates on sampled synapses."""

    ngspice: bool = True
    synapses_per_layer: int = 1
    first_step: int = 1
    n_steps: int = 4
    engine: str = "batch"
    seed: int = 5

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SampleCheckSpec":
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
                kw[k] = _integer("check", k, v, lo=0 if k == "seed" else 1)
        spec = cls(**kw)
        if spec.n_steps > 50 or spec.synapses_per_layer > 8:
            raise InputError("[check] n_steps <= 50 and synapses_per_layer <= 8 keep the ngspice replay short")
        return spec


@dataclass(frozen=True)
class EnergySpec:
    """``[energy]``: the digital reference and the LIM_B options."""

    conventional_update_J: float = CONVENTIONAL_UPDATE_J
    lim_b_drive_floor_kT: float = 0.0
    lim_b_eta: float = 0.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EnergySpec":
        kw: dict[str, Any] = {}
        for k, v in _known("energy", d, cls).items():
            if k == "conventional_update_J":
                kw[k] = _number("energy", k, v, positive=True)
            elif k == "lim_b_eta":
                kw[k] = _number("energy", k, v, lo=0.0, hi=1.0)
            else:
                kw[k] = _number("energy", k, v, lo=0.0, hi=1e6)
        return cls(**kw)


@dataclass(frozen=True)
class MLPConfig:
    """A complete MLP training run."""

    card: Card = field(default_factory=default_card)
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DigitsSpec = field(default_factory=DigitsSpec)
    training: MLPTrainingSpec = field(default_factory=MLPTrainingSpec)
    weights: WeightSpec = field(default_factory=WeightSpec)
    mismatch: MismatchSpec = field(default_factory=MismatchSpec)
    check: SampleCheckSpec = field(default_factory=SampleCheckSpec)
    energy: EnergySpec = field(default_factory=EnergySpec)
    name: str = "train_digits"

    def to_dict(self) -> dict[str, Any]:
        out = {"card": card_to_dict(self.card)}
        for f in ("model", "data", "training", "weights", "mismatch", "check", "energy"):
            out[f] = dataclasses.asdict(getattr(self, f))
        out["energy"]["conventional_source"] = CONVENTIONAL_SOURCE
        return out

    def fingerprint(self) -> str:
        """sha256 of the resolved config (a checkpoint resumes only the run it was written by)."""
        d = self.to_dict()
        d["training"] = {k: v for k, v in d["training"].items() if k not in ("epochs", "checkpoint_every")}
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


_TOP = ("card", "device", "programming", "simulation", "model", "data", "training", "weights", "mismatch",
        "check", "energy")


def is_mlp_config(d: Mapping[str, Any]) -> bool:
    """A parsed training config is an MLP config when it has a ``[model]`` table."""
    return "model" in d


def mlp_config_from_dict(d: Mapping[str, Any], base_dir: Path | None = None,
                         name: str = "train_digits") -> MLPConfig:
    """Validate a parsed MLP training config (see docs/codesign.md s.7)."""
    for k in d:
        if k not in _TOP:
            raise InputError(f"unknown table [{k}] in the MLP training config; allowed: {', '.join(_TOP)}")
    cfg = MLPConfig(card=card_from_config(d, base_dir), model=ModelSpec.from_dict(d.get("model", {})),
                    data=DigitsSpec.from_dict(d.get("data", {})),
                    training=MLPTrainingSpec.from_dict(d.get("training", {})),
                    weights=WeightSpec.from_dict(d.get("weights", {})),
                    mismatch=MismatchSpec.from_dict(d.get("mismatch", {})),
                    check=SampleCheckSpec.from_dict(d.get("check", {})),
                    energy=EnergySpec.from_dict(d.get("energy", {})), name=name)
    return cfg
