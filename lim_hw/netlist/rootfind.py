"""Brent's bracketing root finder for the synthesis (scalar, pure Python).

Why not ``scipy.optimize.brentq``: importing ``scipy.optimize`` takes ~0.25 s, and
the synthesis runs before ngspice can start, so that import was a fifth of the
flow's fixed overhead (docs/benchmarks.md). This is the same method (R. P. Brent,
*Algorithms for Minimization without Derivatives*, 1973, ch. 4: inverse quadratic
interpolation or secant, falling back to bisection whenever the step would leave
the bracket or shrink too slowly), plus a forced bisection whenever the bracket has
not halved in three steps (plain Brent creeps towards multiple roots), with scipy's
stopping rule
``|b - root| <= 2 (xtol + rtol |b|)``; tests/test_rootfind.py checks it against
``scipy.optimize.brentq``.
"""

from __future__ import annotations

from collections.abc import Callable


def brent_root(f: Callable[[float], float], a: float, b: float, *, xtol: float = 2e-12,
               rtol: float = 8.9e-16, maxiter: int = 200) -> float:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` have opposite signs (or one is 0).

    Raises ValueError if the interval does not bracket a root, RuntimeError after
    ``maxiter`` iterations without convergence.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError(f"f({a:g}) = {fa:g} and f({b:g}) = {fb:g} have the same sign: no bracketed root")
    c, fc = a, fa               # c: previous iterate on the other side of the root from b
    d = e = b - a               # d: last step, e: the step before
    width, stalled = abs(b - a), 0  # bracket width at the last halving, steps since
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):   # keep b the best estimate
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = xtol + rtol * abs(b)
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if 2.0 * abs(m) <= 0.5 * width:
            width, stalled = 2.0 * abs(m), 0
        else:
            stalled += 1
        if stalled >= 3:
            d = e = m
            stalled = 0
        elif abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:          # secant
                p, q = 2.0 * m * s, 1.0 - s
            else:               # inverse quadratic interpolation
                q, r = fa / fc, fb / fc
                p = s * (2.0 * m * q * (q - r) - (b - a) * (r - 1.0))
                q = (q - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            p = abs(p)
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q  # accept the interpolation
            else:
                d = e = m        # bisect
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else (tol if m > 0 else -tol)
        fb = f(b)
    raise RuntimeError(f"no convergence in {maxiter} iterations (bracket [{b:g}, {c:g}])")
