"""Trapezoidal integrals of sampled waveforms on non-uniform time grids.

Waveforms are treated as piecewise linear between samples (what the trapezoid rule
assumes). Windows ``[t_a, t_b]`` need not fall on samples: the waveform is linearly
interpolated at the edges. The positive part ``max(y, 0)`` of a piecewise-linear
waveform is integrated exactly: an interval whose ends differ in sign is split at
its zero crossing, so coarse grids do not smear "drawn" energy.

Sign convention (ngspice). The branch current ``i(vname)`` of a voltage source is
positive when current flows INTO its + terminal, through the source, and out of
its - terminal (the source then absorbs power). A source delivering power to the
circuit therefore has a NEGATIVE ``i(vname)``. The power the source delivers is

    p_W = -v(+, -) * i(vname)        (:func:`delivered_power_W`)

Energy drawn from the source (no recovery: a CMOS driver dumps charge back to
ground) is the integral of max(p, 0); net energy (ideal bidirectional source:
perfect recovery) is the integral of p. See docs/theory.md section 8.
"""

from __future__ import annotations

import numpy as np

from lim_hw.errors import InputError


def _check(time_s, *ys) -> tuple[np.ndarray, ...]:
    t = np.asarray(time_s, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise InputError(f"time_s must be a 1-D array of at least 2 samples, got shape {t.shape}")
    out = [t]
    for y in ys:
        a = np.asarray(y, dtype=np.float64)
        if a.shape != t.shape:
            raise InputError(f"waveform shape {a.shape} does not match time_s shape {t.shape}; "
                             "pass samples at the same time points")
        out.append(a)
    for a in out:
        if not np.all(np.isfinite(a)):
            raise InputError("waveform or time contains NaN or inf; check the simulation output")
    if np.any(np.diff(t) < 0):
        raise InputError("time_s is not non-decreasing; sort the samples by time")
    return tuple(out)


def _window(t: np.ndarray, t_a: float | None, t_b: float | None) -> tuple[float, float]:
    a = float(t[0]) if t_a is None else float(t_a)
    b = float(t[-1]) if t_b is None else float(t_b)
    if not (np.isfinite(a) and np.isfinite(b)) or b < a:
        raise InputError(f"window [{a!r}, {b!r}] s is not an interval; need t_a <= t_b")
    if a < t[0] or b > t[-1]:
        raise InputError(f"window [{a:.6g}, {b:.6g}] s reaches outside the samples "
                         f"[{t[0]:.6g}, {t[-1]:.6g}] s; shrink it to the simulated span (note: "
                         "ngspice 39 drops the t = 0 point when .tran has uic)")
    return a, b


def _slice(t: np.ndarray, v: np.ndarray, t_a, t_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _window(t, t_a, t_b)
    i0 = int(np.searchsorted(t, a, side="right"))
    i1 = max(i0, int(np.searchsorted(t, b, side="left")))
    ya, yb = np.interp([a, b], t, v)
    return np.concatenate(([a], t[i0:i1], [b])), np.concatenate(([ya], v[i0:i1], [yb]))


def _segment_areas(t0, y0, t1, y1, positive: bool, log_mean: bool = False) -> np.ndarray:
    """Trapezoid areas of linear segments (t0, y0)-(t1, y1); of their positive part if ``positive``.

    ``log_mean``: where both ends are positive, treat the segment as exponential in
    time instead (area ``dt (y1 - y0) / ln(y1 / y0)``), the right shape for a
    tunnelling current between sparse time points (exact for an exponential).
    """
    dt = np.asarray(t1, dtype=np.float64) - t0
    if log_mean:
        area = 0.5 * (y0 + y1) * dt
        ok = (y0 > 0) & (y1 > 0) & (y0 != y1)
        if np.any(ok):
            a, b = y0[ok], y1[ok]
            area[ok] = (b - a) / np.log(b / a) * dt[ok]
        return area
    if not positive:
        return 0.5 * (y0 + y1) * dt
    p0, p1 = np.maximum(y0, 0.0), np.maximum(y1, 0.0)
    area = 0.5 * (p0 + p1) * dt  # exact where y0 and y1 do not differ in sign
    cross = (y0 * y1) < 0
    if np.any(cross):
        span = np.abs(y0[cross]) + np.abs(y1[cross])
        area[cross] = 0.5 * (p0[cross] ** 2 + p1[cross] ** 2) / span * dt[cross]
    return area


def _positive_trapezoid(t: np.ndarray, v: np.ndarray) -> float:
    return float(np.sum(_segment_areas(t[:-1], v[:-1], t[1:], v[1:], True)))


def windowed_integrals(time_s, y, t_a, t_b, positive: bool = False, log_mean: bool = False) -> np.ndarray:
    """Integrals of ``y`` (or of ``max(y, 0)``) over many windows ``[t_a[k], t_b[k]]`` at once.

    Same value as :func:`integral` / :func:`positive_integral` window by window
    (exact for piecewise-linear ``y``), but O(samples + windows): one cumulative
    sum of interval areas, plus the exact partial interval at each window edge.
    ``log_mean`` integrates positive stretches as exponential segments (see
    :func:`_segment_areas`).
    """
    t, v = _check(time_s, y)
    a = np.atleast_1d(np.asarray(t_a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(t_b, dtype=np.float64))
    for lo, hi in zip(a, b):
        _window(t, lo, hi)
    cum = np.concatenate(([0.0], np.cumsum(_segment_areas(t[:-1], v[:-1], t[1:], v[1:], positive, log_mean))))

    def upto(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
        dt = t[i + 1] - t[i]
        frac = np.divide(x - t[i], dt, out=np.zeros_like(x), where=dt > 0)
        yx = v[i] + (v[i + 1] - v[i]) * frac
        return cum[i] + _segment_areas(t[i], v[i], x, yx, positive, log_mean)

    return upto(b) - upto(a)


def window_samples(time_s, y, t_a: float | None = None,
                   t_b: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Samples of ``y`` on ``[t_a, t_b]`` with linearly interpolated end points.

    Returns ``(t, y)``: ``t[0] == t_a``, ``t[-1] == t_b``, and every sample strictly
    inside in between. ``None`` means the first/last sample. Raises InputError
    if the window reaches outside the samples.
    """
    t, v = _check(time_s, y)
    return _slice(t, v, t_a, t_b)


def integral(time_s, y, t_a: float | None = None, t_b: float | None = None) -> float:
    """Trapezoidal integral of ``y`` over ``[t_a, t_b]`` (default: all samples) [y * s]."""
    t, v = window_samples(time_s, y, t_a, t_b)
    return float(np.trapezoid(v, t))


def positive_integral(time_s, y, t_a: float | None = None, t_b: float | None = None) -> float:
    """Integral of ``max(y, 0)`` over ``[t_a, t_b]``, exact for piecewise-linear ``y`` [y * s].

    Intervals where ``y`` changes sign are split at the linear zero crossing: the
    positive triangle of an interval has area ``y+^2 / (|y0| + |y1|) * dt / 2``.
    """
    return _positive_trapezoid(*window_samples(time_s, y, t_a, t_b))


def cumulative_integral(time_s, y) -> np.ndarray:
    """Running trapezoidal integral of ``y`` from the first sample (starts at 0) [y * s]."""
    t, v = _check(time_s, y)
    out = np.zeros(np.shape(v), dtype=float)  # scipy's cumulative_trapezoid(initial=0), without its import
    np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t), out=out[1:])
    return out


def delivered_power_W(v_V, i_branch_A) -> np.ndarray:
    """Power a voltage source delivers to the circuit [W]: ``-v * i_branch``.

    ``v_V``: source voltage v(+) - v(-) [V]; ``i_branch_A``: ngspice branch current
    ``i(vname)`` [A], positive INTO the + terminal through the source. Positive
    result: the source supplies energy; negative: it takes energy back.
    """
    return -np.asarray(v_V, dtype=np.float64) * np.asarray(i_branch_A, dtype=np.float64)


def energy_delivered_J(time_s, v_V, i_A, t_a: float | None = None,
                       t_b: float | None = None) -> tuple[float, float]:
    """Energy a voltage source delivers over ``[t_a, t_b]``: ``(drawn_J, net_J)``.

    Args:
        time_s: sample times [s], non-decreasing (non-uniform is fine).
        v_V: source voltage v(+) - v(-) at ``time_s`` [V].
        i_A: the source's ngspice branch current ``i(vname)`` [A], as ``simulate``
            returns it (positive INTO the + terminal; see :func:`delivered_power_W`).
        t_a, t_b: window [s]; default the whole record. Edges are interpolated.

    Returns:
        drawn_J: integral of max(p, 0), p = delivered power: what a driver that
            cannot recover energy takes from its supply.
        net_J: integral of p: the energy with perfect recovery (ideal source).
    """
    t, v, i = _check(time_s, v_V, i_A)
    tw, pw = _slice(t, delivered_power_W(v, i), t_a, t_b)
    return _positive_trapezoid(tw, pw), float(np.trapezoid(pw, tw))
