"""Source energies with the circuit's known physics: exact RC drive currents, FN terms from ngspice.

A supply's delivered current is ``r(t) + f(t)`` (:class:`lim_hw.netlist.spec.Supply`):
``r`` is the current of the linear RC network (series ``R_drv`` into the cells'
capacitors) driven by the known piecewise-linear drive, and ``f = sum_k c_k I_k``
the part the cells' FN currents ``I_k`` carry. ngspice's transient solution of a
nanosecond RC edge is off by ~1 % (its first order-1 step after every breakpoint,
then BDF-2 steps of 0.05-0.1 tau; measured in docs/flow.md), so ``r`` is not read
from the samples: :func:`rc_line_current_A` computes it exactly on a grid that
holds every edge corner, where ``r`` is an exponential relaxation

    r(s) = r0 phi0(s) + r1 phi1(s),   phi1(s) = (1 - exp(-s/tau)) / (1 - exp(-h/tau)),

between grid points (``phi0 = 1 - phi1``). ``f`` comes from ngspice's sensed FN
currents, log-linear between samples (exact for an exponential). Every integral
per grid interval is then closed form (:meth:`IntervalModel.interval_integrals`);
the positive part of the power is split where it changes sign.
:func:`supply_integrals` returns per window the net energy, the drawn energy
(positive part) and ``R i^2`` of the series resistors (for the energy balance,
which checks all of this against ngspice's capacitor states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Gauss-Legendre rule on [0, 1] for the smooth (x = h/tau <= 1) moments.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_GL_U = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W
#: Sub-points per interval where the delivered power changes sign (positive part).
_SIGN_SPLIT = 400


def _rc_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``G1 = int phi1 du``, ``G2 = int u phi1 du``, ``G11 = int phi1^2 du`` over u in [0, 1] (x = h/tau).

    Closed forms for ``x > 1`` (no cancellation there); 12-point Gauss-Legendre for
    ``x <= 1``, where ``phi1`` is smooth (error < 1e-15).
    """
    x = np.asarray(x, dtype=float)
    G1, G2, G11 = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    big = x > 1.0
    if np.any(big):
        xb = x[big]
        D = -np.expm1(-xb)
        E = np.exp(-xb)
        G1[big] = 1.0 / D - 1.0 / xb
        G2[big] = (0.5 - (D - xb * E) / (xb * xb)) / D
        G11[big] = (1.0 - 2.0 * D / xb + (-np.expm1(-2.0 * xb)) / (2.0 * xb)) / (D * D)
    small = ~big
    if np.any(small):
        xs = np.maximum(x[small], 1e-300)[:, None]
        ph = np.where(xs > 1e-8, -np.expm1(-xs * _GL_U) / -np.expm1(-xs), _GL_U + 0.0 * xs)
        G1[small] = ph @ _GL_W
        G2[small] = (ph * _GL_U) @ _GL_W
        G11[small] = (ph * ph) @ _GL_W
    return G1, G2, G11


def _loglin_moments(I0: np.ndarray, I1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``int I du`` and ``int u I du`` over [0, 1] for ``I = I0 (I1/I0)^u`` (trapezoid-like if a sign differs)."""
    I0 = np.asarray(I0, dtype=float)
    I1 = np.asarray(I1, dtype=float)
    m0 = 0.5 * (I0 + I1)
    m1 = (I0 + 2.0 * I1) / 6.0
    ok = (I0 > 0) & (I1 > 0)
    if np.any(ok):
        a, b = I0[ok], I1[ok]
        L = np.log(b / a)
        tiny = np.abs(L) < 1e-4
        Ls = np.where(tiny, 1.0, L)
        m0_ok = np.where(tiny, a * (1 + L / 2 + L * L / 6), (b - a) / Ls)
        m1_ok = np.where(tiny, a * (0.5 + L / 3 + L * L / 8), (b * (Ls - 1.0) + a) / (Ls * Ls))
        m0[ok], m1[ok] = m0_ok, m1_ok
    return m0, m1


@dataclass(frozen=True)
class IntervalModel:
    """Per-interval current model of one supply on a time grid (see the module docstring)."""

    t: np.ndarray      # sample times (n,)
    v: np.ndarray      # supply voltage samples (n,)
    r: np.ndarray      # RC part of the delivered current (n,)
    fn: np.ndarray     # FN part (n,) = sum_k c_k I_k = fn_pos - fn_neg (each log-linear between samples)
    fn_pos: np.ndarray
    fn_neg: np.ndarray
    tau_s: float

    def interval_integrals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per interval: ``int v i``, ``int i``, ``int r^2`` and ``int r * fn`` (exact for the model)."""
        t, v, r = self.t, self.v, self.r
        h = np.diff(t)
        x = h / self.tau_s if self.tau_s > 0 else np.zeros_like(h)
        G1, G2, G11 = _rc_moments(x)
        r0, r1 = r[:-1], r[1:]
        v0, dv = v[:-1], np.diff(v)
        int_r = (r0 * (1 - G1) + r1 * G1)                   # / h
        int_ur = (r0 * (0.5 - G2) + r1 * G2)                # int u r du
        p0, p1 = self.fn_pos[:-1], self.fn_pos[1:]
        n0, n1 = self.fn_neg[:-1], self.fn_neg[1:]
        mp0, mp1 = _loglin_moments(p0, p1)
        mn0, mn1 = _loglin_moments(n0, n1)
        int_f = mp0 - mn0
        int_uf = mp1 - mn1
        net = h * (v0 * (int_r + int_f) + dv * (int_ur + int_uf))
        charge = h * (int_r + int_f)
        G00 = 1.0 - 2.0 * G1 + G11
        r2 = h * (r0 * r0 * G00 + 2.0 * r0 * r1 * (G1 - G11) + r1 * r1 * G11)
        rf = h * int_f * 0.5 * (r0 + r1) if self.tau_s <= 0 else h * int_f * (r0 * (1 - G1) + r1 * G1)
        return net, charge, r2, rf

    def power_at(self, k: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Delivered power of the model in intervals ``k`` (m,) at fractions ``u`` (K,): shape (m, K)."""
        t, v, r = self.t, self.v, self.r
        h = (t[k + 1] - t[k])[:, None]
        x = h / self.tau_s if self.tau_s > 0 else np.zeros_like(h)
        uu = np.asarray(u, dtype=float)[None, :]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ph1 = np.where(x > 1e-8, -np.expm1(-x * uu) / -np.expm1(-np.maximum(x, 1e-300)), uu)
        rr = r[k][:, None] * (1 - ph1) + r[k + 1][:, None] * ph1
        ff = (_loglin(self.fn_pos[k][:, None], self.fn_pos[k + 1][:, None], uu)
              - _loglin(self.fn_neg[k][:, None], self.fn_neg[k + 1][:, None], uu))
        vv = v[k][:, None] + (v[k + 1] - v[k])[:, None] * uu
        return vv * (rr + ff)


def _loglin(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``a (b/a)^u`` where both are positive, else linear."""
    ok = (a > 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        geo = a * np.power(np.where(ok, b / np.where(ok, a, 1.0), 1.0), u)
    return np.where(ok, geo, a + (b - a) * u)


def drive_voltage_V(drive: tuple[tuple[float, float, float], ...], t: np.ndarray) -> np.ndarray:
    """Voltage of a driver made of linear edges ``(t_start_s, dV_V, duration_s)`` at times ``t`` (V).

    Edges in time order that do not overlap (every flow driver): at each time the finished
    edges' sum (a running sum in edge order) plus the one edge in progress, O(N log E) and
    bit-identical to summing every edge at every time (:func:`_drive_voltage_each_edge_V`, the
    general case, O(N E): 0.1 s per call for 800 edges on 20k samples).
    """
    edges = [e for e in drive if e[1] != 0.0]
    if not edges:
        return np.zeros_like(t, dtype=float)
    t0, dv, T = (np.array(c, dtype=float) for c in zip(*edges))
    if np.any(T < 0) or np.any(t0[1:] < t0[:-1] + T[:-1]):
        return _drive_voltage_each_edge_V(edges, t)
    t = np.asarray(t, dtype=float)
    k = np.searchsorted(t0, t, side="right") - 1          # the last edge started at or before t
    started = k >= 0
    kk = np.where(started, k, 0)
    done_before = np.concatenate(([0.0], np.cumsum(dv)[:-1]))[kk]
    Tk = T[kk]
    ramp = Tk > 0
    frac = np.where(ramp, np.clip((t - t0[kk]) / np.where(ramp, Tk, 1.0), 0.0, 1.0), 1.0)
    return np.where(started, done_before + dv[kk] * frac, 0.0)


def _drive_voltage_each_edge_V(drive, t: np.ndarray) -> np.ndarray:
    """:func:`drive_voltage_V` by summing every edge at every time (any edges, overlapping too)."""
    v = np.zeros_like(t, dtype=float)
    for t0, dv, T in drive:
        if dv == 0.0:
            continue
        v += dv * (np.clip((t - t0) / T, 0.0, 1.0) if T > 0 else (t >= t0))
    return v


def drive_corners_s(drive: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """Start and end of every edge of a driver (s)."""
    return np.array([c for t0, dv, T in drive if dv != 0.0 for c in (t0, t0 + T)], dtype=float)


def rc_line_current_A(drive: tuple[tuple[float, float, float], ...], tau_s: float, C_F: float,
                      t: np.ndarray) -> np.ndarray:
    """Exact current into a series-RC load (``tau_s``, total capacitance ``C_F``) at grid times ``t``.

    ``tau i' + i = C v'(t)`` with ``v`` the piecewise-linear drive, from rest at
    ``t[0]``; exact when every edge corner is a grid point (``v'`` constant in
    between): ``i_{n+1} = i_ss + (i_n - i_ss) exp(-h/tau)``, ``i_ss = C v'``.
    """
    n = t.size
    if n < 2 or C_F <= 0 or tau_s <= 0:
        return np.zeros(n)
    v = drive_voltage_V(drive, t)
    h = np.diff(t)
    slope = np.divide(np.diff(v), h, out=np.zeros_like(h), where=h > 0)
    E = np.exp(-h / tau_s)
    i_ss = C_F * slope
    out = np.empty(n)
    cur = 0.0
    out[0] = 0.0
    Et, it = E.tolist(), i_ss.tolist()
    for k in range(n - 1):
        cur = it[k] + (cur - it[k]) * Et[k]
        out[k + 1] = cur
    return out


def supply_model(time_s: np.ndarray, v_V: np.ndarray, rc_A: np.ndarray,
                 fn_currents: list[tuple[np.ndarray, float]], tau_s: float) -> IntervalModel:
    """The interval model of one supply on a grid: its voltage, RC current and FN terms (coefficient, current)."""
    fn_pos = np.zeros_like(rc_A)
    fn_neg = np.zeros_like(rc_A)
    for I, c in fn_currents:
        if c >= 0:
            fn_pos += c * np.asarray(I, dtype=float)
        else:
            fn_neg += -c * np.asarray(I, dtype=float)
    return IntervalModel(np.asarray(time_s, dtype=float), np.asarray(v_V, dtype=float), np.asarray(rc_A, float),
                         fn_pos - fn_neg, fn_pos, fn_neg, float(tau_s))


def loglin_resample(t_src: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``y`` (a positive FN current, or anything) at times ``t``: log-linear between samples where positive."""
    i = np.clip(np.searchsorted(t_src, t, side="right") - 1, 0, t_src.size - 2)
    h = t_src[i + 1] - t_src[i]
    u = np.clip(np.divide(t - t_src[i], h, out=np.zeros_like(t), where=h > 0), 0.0, 1.0)
    return _loglin(y[i], y[i + 1], u)


def _cum(x: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(x)))


def fixed_sign_intervals(model: IntervalModel) -> np.ndarray:
    """Intervals where the model's power cannot change sign (bool per interval), from the end values alone.

    The power is ``v (r + f_pos - f_neg)``: ``v`` and ``r`` are convex combinations of their end values
    (``phi1`` in [0, 1]), each FN part lies between its end values (log-linear or linear), so with
    every term of one sign at both ends (or ``v = 0`` at both ends: the power is 0) no point of the
    interval has the other sign. Intervals with a non-finite end value are never in the set.
    """
    v, r, fp, fn = model.v, model.r, model.fn_pos, model.fn_neg
    finite = np.isfinite(v) & np.isfinite(r) & np.isfinite(fp) & np.isfinite(fn)
    v0, v1, r0, r1 = v[:-1], v[1:], r[:-1], r[1:]
    p0, p1, n0, n1 = fp[:-1], fp[1:], fn[:-1], fn[1:]
    no_neg = (n0 == 0) & (n1 == 0)
    no_pos = (p0 == 0) & (p1 == 0)
    current_pos = (r0 >= 0) & (r1 >= 0) & (p0 >= 0) & (p1 >= 0) & no_neg
    current_neg = (r0 <= 0) & (r1 <= 0) & (n0 >= 0) & (n1 >= 0) & no_pos
    v_one_sign = ((v0 >= 0) & (v1 >= 0)) | ((v0 <= 0) & (v1 <= 0))
    v_zero = (v0 == 0) & (v1 == 0)
    return finite[:-1] & finite[1:] & (v_zero | ((current_pos | current_neg) & v_one_sign))


def supply_integrals(model: IntervalModel, t_a: np.ndarray, t_b: np.ndarray, R_ohm: float = 0.0,
                     lines: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window ``[t_a[k], t_b[k]]``: ``(drawn_J, net_J, E_R_J)`` of one supply under the model.

    Windows must start and end on sample times or inside intervals where the
    power is smooth (the flow's windows start before an edge and end after the
    RC has settled); their partial intervals are integrated with the model.
    ``E_R_J = R / lines * int i^2`` (each of ``lines`` identical lines carries ``i / lines``).
    """
    t = model.t
    net_k, _, r2_k, rf_k = model.interval_integrals()
    n_int = net_k.size
    # positive part: the net of an interval where the model's power keeps its sign,
    # else a fine evaluation of the model inside it
    probe_u = np.array([0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    k_all = np.arange(n_int)
    mixed = np.zeros(n_int, dtype=bool)
    maybe = ~fixed_sign_intervals(model)   # only these can have probes of both signs
    if np.any(maybe):
        p_probe = model.power_at(k_all[maybe], probe_u)   # row by row: the same values as probing all
        mixed[maybe] = np.any(p_probe > 0, axis=1) & np.any(p_probe < 0, axis=1)
    pos_k = np.where(net_k > 0, net_k, 0.0)
    pos_k = np.where(mixed, 0.0, pos_k)
    if np.any(mixed):
        km = k_all[mixed]
        h = t[km + 1] - t[km]
        # points dense at both ends (the RC transient sits at the start of an interval)
        g = np.geomspace(1e-9, 0.5, _SIGN_SPLIT // 2)
        u = np.unique(np.concatenate([[0.0], g, 1.0 - g, [1.0]]))
        p = model.power_at(km, u)
        pp = np.maximum(p, 0.0)
        du = np.diff(u)
        # positive part of a piecewise-linear interpolation, split at zero crossings
        p0, p1 = p[:, :-1], p[:, 1:]
        area = 0.5 * (pp[:, :-1] + pp[:, 1:]) * du
        cross = p0 * p1 < 0
        span = np.abs(p0) + np.abs(p1)
        area = np.where(cross, 0.5 * (pp[:, :-1] ** 2 + pp[:, 1:] ** 2) / np.where(cross, span, 1.0) * du, area)
        pos_k[mixed] = area.sum(axis=1) * h
    E_R_k = (R_ohm / max(lines, 1)) * (r2_k + 2.0 * rf_k) if R_ohm > 0 else np.zeros(n_int)
    out = []
    for per in (pos_k, net_k, E_R_k):
        cum = _cum(per)
        out.append(_window_sum(t, cum, per, t_a, t_b))
    return out[0], out[1], out[2]


def _window_sum(t: np.ndarray, cum: np.ndarray, per: np.ndarray, t_a: np.ndarray, t_b: np.ndarray) -> np.ndarray:
    """Sum of per-interval integrals over windows, partial end intervals pro rata in time.

    The flow's window edges sit where the drive is at rest (before an edge,
    after 20 RC of settling), so the power there is smooth and small and pro-rata
    splitting of the end intervals is exact to the order of that power.
    """
    a = np.asarray(t_a, dtype=float)
    b = np.asarray(t_b, dtype=float)

    def upto(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
        dt = t[i + 1] - t[i]
        frac = np.divide(x - t[i], dt, out=np.zeros_like(x), where=dt > 0)
        return cum[i] + per[i] * np.clip(frac, 0.0, 1.0)

    return upto(b) - upto(a)
