"""The handwritten-digits data set shipped inside scikit-learn, with a fixed, seeded split.

:func:`load_digits_split` reads ``sklearn.datasets.load_digits`` (1797 8x8
grey-level images, 16 levels, 10 classes; the UCI "optical recognition of
handwritten digits" test set, shipped as a 180 kB CSV inside scikit-learn: no
download), scales the pixels to ``[0, 1]`` (divides by 16) and splits it with a
seeded, stratified permutation (numpy only: scikit-learn is used for the data
and nothing else). ``n_train`` takes a stratified subset of the training part
(tests use it to stay small); the test part is always the same for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from ..errors import InputError
from .datasets import Dataset, _integer, _number

__all__ = ["DigitsSpec", "load_digits_split", "digits_arrays"]

#: Grey levels of the digit images (pixel values 0..16).
PIXEL_MAX = 16.0


@lru_cache(maxsize=1)
def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: the 1797 x 64 pixel matrix (0..16) and the labels, from scikit-learn (cached)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        raise InputError("[data] kind = \"digits\" needs scikit-learn; run make install") from exc
    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


@dataclass(frozen=True)
class DigitsSpec:
    """The ``[data]`` table of an MLP config (``kind = "digits"``)."""

    kind: str = "digits"
    test_fraction: float = 0.25
    n_train: int = 0          # 0 = the whole training part; else a stratified subset
    seed: int = 1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DigitsSpec":
        if not isinstance(d, Mapping):
            raise InputError("[data] must be a TOML table")
        allowed = ("kind", "test_fraction", "n_train", "seed")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k not in allowed:
                raise InputError(f"unknown key [data] {k}; allowed keys: {', '.join(allowed)}")
            if k == "kind":
                if v != "digits":
                    raise InputError(f"[data] kind = {v!r}: the MLP trains on \"digits\"")
                kw[k] = v
            elif k == "test_fraction":
                kw[k] = _number("data", k, v, lo=0.05, hi=0.8)
            else:
                kw[k] = _integer("data", k, v, lo=0)
        spec = cls(**kw)
        if spec.n_train and spec.n_train < 20:
            raise InputError("[data] n_train must be 0 (all) or >= 20 images")
        return spec


def _stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (first, rest): ``round(fraction * n_c)`` of every class in the first part, shuffled."""
    first, rest = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(fraction * idx.size))
        first.append(idx[:k])
        rest.append(idx[k:])
    return rng.permutation(np.concatenate(first)), rng.permutation(np.concatenate(rest))


def load_digits_split(spec: DigitsSpec = DigitsSpec()) -> Dataset:
    """Scaled digits, split by ``spec`` (seeded, stratified); pixels / 16 in [0, 1]."""
    X, y = digits_arrays()
    rng = np.random.default_rng(spec.seed)
    te, tr = _stratified_split(y, spec.test_fraction, rng)
    if spec.n_train:
        if spec.n_train > tr.size:
            raise InputError(f"[data] n_train = {spec.n_train} but the training part has {tr.size} images")
        sub, _ = _stratified_split(y[tr], spec.n_train / tr.size, rng)
        tr = tr[sub]
    Xs = X / PIXEL_MAX
    info = {"kind": "digits", "source": "sklearn.datasets.load_digits", "n_images": int(y.size),
            "n_features": int(X.shape[1]), "n_classes": 10, "n_train": int(tr.size), "n_test": int(te.size),
            "test_fraction": spec.test_fraction, "seed": spec.seed, "scaling": "pixel / 16"}
    return Dataset(Xs[tr], y[tr], Xs[te], y[te], 10, "digits", info)
