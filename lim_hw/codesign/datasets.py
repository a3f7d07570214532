"""Data sets for on-device training, generated in code (no download, no extra dependency).

:func:`gaussian_classes` draws ``n_classes`` isotropic Gaussian classes (unit
covariance) whose means are ``separation`` apart: for two classes the means are
``+-separation/2`` along a random unit vector, so the Bayes-optimal (linear)
classifier reaches ``Phi(separation/2)`` accuracy (97.7 % at separation 4),
which a logistic regression can approach. More classes get mutually orthogonal
means (``n_features >= n_classes``) at pairwise distance ``separation``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy.special import ndtr

from ..checks import checked_number
from ..errors import InputError

__all__ = ["Dataset", "DataSpec", "gaussian_classes", "make_dataset"]


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (n, d) and integer labels ``y`` (n,), split into train and test."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


@dataclass(frozen=True)
class DataSpec:
    """The ``[data]`` table of a training config."""

    kind: str = "gaussian"
    n_features: int = 4
    n_classes: int = 2
    n_train: int = 500
    n_test: int = 2000
    separation: float = 4.0
    nuisance_std: float = 4.0
    nuisance_cos: float = 0.8
    center_norm: float = 1.5
    seed: int = 1

    KINDS = ("gaussian",)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DataSpec":
        allowed = ("kind", "n_features", "n_classes", "n_train", "n_test", "separation", "nuisance_std",
                   "nuisance_cos", "center_norm", "seed")
        for k in d:
            if k not in allowed:
                raise InputError(f"unknown key [data] {k}; allowed keys: {', '.join(allowed)}")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k == "kind":
                if v not in cls.KINDS:
                    raise InputError(f"[data] kind = {v!r} is not one of {', '.join(cls.KINDS)}")
                kw[k] = v
            elif k in ("separation", "nuisance_std"):
                kw[k] = _number("data", k, v, hi=100.0, positive=True)
            elif k == "nuisance_cos":
                kw[k] = _number("data", k, v, lo=0.0, hi=0.99)
            elif k == "center_norm":
                kw[k] = _number("data", k, v, lo=0.0, hi=100.0)
            else:
                kw[k] = _integer("data", k, v, lo=0 if k == "seed" else 1)
        spec = cls(**kw)
        if spec.n_classes < 2:
            raise InputError("[data] n_classes must be >= 2")
        if spec.n_features > 1000 or spec.n_train > 10**6 or spec.n_test > 10**6:
            raise InputError("[data] is too large for on-device training (n_features <= 1000, n_train/n_test <= 1e6)")
        return spec


def _number(sec: str, key: str, v: Any, lo: float | None = None, hi: float | None = None,
            positive: bool = False) -> float:
    return checked_number(v, f"[{sec}] {key}", lo=lo, hi=hi, positive=positive)


def _integer(sec: str, key: str, v: Any, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(f"[{sec}] {key} must be a whole number, got {v!r}")
    if v < lo:
        raise InputError(f"[{sec}] {key} = {v} must be >= {lo}")
    return int(v)


def gaussian_classes(n_features: int = 4, n_classes: int = 2, n_train: int = 500, n_test: int = 2000,
                     separation: float = 4.0, nuisance_std: float = 4.0, nuisance_cos: float = 0.8,
                     center_norm: float = 1.5, seed: int = 1) -> Dataset:
    """Gaussian classes with a correlated nuisance direction (see the module docstring)."""
    rng = np.random.default_rng(seed)
    d, K = int(n_features), int(n_classes)
    if d < 2 and nuisance_cos > 0:
        raise InputError("[data] n_features must be >= 2 for a nuisance direction (or set nuisance_cos = 0)")
    if K > 2 and d < K:
        raise InputError(f"[data] n_features = {d} must be >= n_classes = {K} for orthogonal class means")
    B, _ = np.linalg.qr(rng.standard_normal((d, max(d, 2))))
    u = B[:, 0]
    w_perp = B[:, 1] if d >= 2 else np.zeros(d)
    v = nuisance_cos * u + math.sqrt(max(0.0, 1.0 - nuisance_cos ** 2)) * w_perp
    s2 = nuisance_std ** 2
    Sigma = np.eye(d) + (s2 - 1.0) * np.outer(v, v)
    L = np.linalg.cholesky(Sigma)
    Sinv = np.linalg.inv(Sigma)
    center = rng.standard_normal(d)
    center *= center_norm / max(np.linalg.norm(center), 1e-12)
    if K == 2:
        delta = u * separation / math.sqrt(float(u @ Sinv @ u))    # Mahalanobis distance = separation
        means = np.stack([center - 0.5 * delta, center + 0.5 * delta])
        bayes = float(ndtr(separation / 2.0))
        naive = float(ndtr(0.5 * float(delta @ delta) / math.sqrt(float(delta @ Sigma @ delta))))
    else:
        Qm = B[:, :K] if B.shape[1] >= K else np.linalg.qr(rng.standard_normal((d, K)))[0]
        means = center + (separation / math.sqrt(2.0)) * Qm.T
        bayes = naive = math.nan

    def draw(n):
        y = rng.integers(0, K, size=n)
        X = means[y] + rng.standard_normal((n, d)) @ L.T
        return X, y

    X_tr, y_tr = draw(n_train)
    X_te, y_te = draw(n_test)
    return Dataset(X_tr, y_tr, X_te, y_te, K, f"gaussian{K}",
                   {"kind": "gaussian", "n_features": d, "n_classes": K, "n_train": int(n_train),
                    "n_test": int(n_test), "separation_mahalanobis": float(separation),
                    "nuisance_std": float(nuisance_std), "nuisance_cos": float(nuisance_cos),
                    "center_norm": float(center_norm), "seed": int(seed), "bayes_accuracy": bayes,
                    "mean_difference_accuracy": naive})


def make_dataset(spec: DataSpec) -> Dataset:
    """Build the data set a :class:`DataSpec` describes."""
    if spec.kind == "gaussian":
        return gaussian_classes(spec.n_features, spec.n_classes, spec.n_train, spec.n_test,
                                spec.separation, spec.nuisance_std, spec.nuisance_cos, spec.center_norm,
                                spec.seed)
    raise InputError(f"[data] kind = {spec.kind!r} is not supported")  # pragma: no cover
