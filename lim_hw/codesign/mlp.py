"""A multi-layer perceptron in numpy whose parameters are one flat vector (the synapse order).

Layer ``l`` maps ``a_l`` (with a constant 1 appended for the bias) to
``z_{l+1} = W_l [a_l; 1]``; ``W_l`` has shape ``(n_out, n_in + 1)`` (the last
column is the bias). Hidden layers apply ``tanh`` (or ``relu``); the output is
a softmax, trained on the mean cross-entropy of a minibatch. The flat
parameter vector concatenates ``W_0.ravel(), W_1.ravel(), ...`` (row-major):
entry ``j`` of the vector is synapse ``j`` of the hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MLP", "confusion_matrix"]

ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class MLP:
    """Layer sizes (inputs, hidden..., outputs) and the hidden activation."""

    sizes: tuple[int, ...]
    activation: str = "tanh"

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(n_out, n_in + 1)`` of every weight matrix (bias in the last column)."""
        return [(b, a + 1) for a, b in zip(self.sizes[:-1], self.sizes[1:])]

    @property
    def layer_slices(self) -> list[slice]:
        """Where each layer's parameters sit in the flat vector."""
        out, k = [], 0
        for r, c in self.shapes:
            out.append(slice(k, k + r * c))
            k += r * c
        return out

    @property
    def n_params(self) -> int:
        return sum(r * c for r, c in self.shapes)

    def is_bias(self) -> np.ndarray:
        """Boolean mask over the flat vector: True for bias parameters."""
        m = []
        for r, c in self.shapes:
            b = np.zeros((r, c), dtype=bool)
            b[:, -1] = True
            m.append(b.ravel())
        return np.concatenate(m)

    def init(self, seed: int) -> np.ndarray:
        """Glorot-uniform weights ``U(-sqrt(6/(n_in + n_out)), +...)``, zero biases (seeded)."""
        rng = np.random.default_rng(seed)
        parts = []
        for r, c in self.shapes:
            lim = np.sqrt(6.0 / (r + c - 1))
            W = np.zeros((r, c))
            W[:, :-1] = rng.uniform(-lim, lim, (r, c - 1))
            parts.append(W.ravel())
        return np.concatenate(parts)

    def unflatten(self, w: np.ndarray) -> list[np.ndarray]:
        return [w[s].reshape(sh) for s, sh in zip(self.layer_slices, self.shapes)]

    def _act(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z) if self.activation == "tanh" else np.maximum(z, 0.0)

    def logits(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        a = X
        Ws = self.unflatten(w)
        for i, W in enumerate(Ws):
            z = a @ W[:, :-1].T + W[:, -1]
            a = z if i == len(Ws) - 1 else self._act(z)
        return a

    def predict(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(w, X), axis=1)

    def accuracy(self, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(w, X) == y))

    def loss(self, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        Z = self.logits(w, X)
        Z = Z - Z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(Z).sum(axis=1))
        return float(np.mean(lse - Z[np.arange(len(y)), y]))

    def loss_grad(self, w: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean cross-entropy of the batch and its gradient (flat, backpropagation)."""
        Ws = self.unflatten(w)
        acts, pre = [X], []
        a = X
        for i, W in enumerate(Ws):
            z = a @ W[:, :-1].T + W[:, -1]
            pre.append(z)
            a = z if i == len(Ws) - 1 else self._act(z)
            acts.append(a)
        Z = a - a.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        m = len(y)
        loss = float(-np.mean(np.log(np.maximum(P[np.arange(m), y], 1e-300))))
        P[np.arange(m), y] -= 1.0
        delta = P / m
        grads = [None] * len(Ws)
        for i in range(len(Ws) - 1, -1, -1):
            grads[i] = np.hstack([delta.T @ acts[i], delta.sum(axis=0)[:, None]])
            if i:
                back = delta @ Ws[i][:, :-1]
                h = acts[i]
                delta = back * (1.0 - h * h) if self.activation == "tanh" else back * (pre[i - 1] > 0)
        return loss, np.concatenate([g.ravel() for g in grads])


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]``: images of class ``i`` predicted as ``j``."""
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return C
