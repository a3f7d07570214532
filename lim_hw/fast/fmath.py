"""Vectorisable ``exp(-u)`` and ``log1p(x)`` for the fused numba kernels (docs/benchmarks.md s.5).

numba calls the C library for ``math.exp``/``math.log1p`` one element at a time
(the llvmlite wheels have no SVML), about 17 and 25 ns per call here, while the
kernels need four exponentials and seven ``log1p`` per synapse-update. These
are the classic fdlibm reductions written with arithmetic, ``floor`` and bit
casts only, so LLVM vectorises the loops that inline them:

- ``exp_neg(u) = exp(-u)``, ``u >= 0``: ``-u = r - n ln2`` (Cody-Waite, ``|r| <= ln2/2``),
  Taylor series of degree 13 (truncation ``< 5e-18`` relative), scale ``2^-n`` built from
  exponent bits in two halves (correct into the subnormal range); ``0`` beyond ``u = 745``.
- ``log1p_small(x)`` for ``|x| <= 2^-13``: the series to ``x^5/5`` (no division), used by the
  kernels where a bound over all cells shows every argument of a segment is that small.
- ``log1p(x)``, ``x >= 0`` (and ``-0.29 < x < 0``): ``1 + x = u + err`` exactly (Fast2Sum),
  ``u = 2^k m`` with ``m`` in ``[sqrt2/2, sqrt2)``, ``log m = f - hfsq + s (hfsq + R(s^2))``
  with fdlibm's ``Lg1..Lg7``, plus ``err/u``.

Both are within 1 ulp of numpy's ``exp``/``log1p`` (tests/test_fast_fmath.py, 2e5
arguments each over the whole range the kernels see).

For the thermal / image-force FN law (docs/device.md s.6-8) the kernels also need

- ``exp_signed(z)``, ``|z| <= 700``: the same reduction with ``n = floor(z/ln2 + 1/2)``;
- ``log_pos(y)``, ``y`` a positive normal double: fdlibm's ``log`` (``y = 2^k m``, no ``err`` term);
- ``sin_0_pi(x)``, ``0 <= x <= pi``: ``sin`` of ``x`` or of ``pi - x`` (``pi`` in two parts), whichever
  is at most ``pi/2``, by its Taylor series to ``y^23`` (truncation ``< 1e-19``);
- ``cos_0_pi(x)``, ``0 <= x <= pi``: the same series at ``pi/2 - x`` (the thermal law's series step).
"""

from __future__ import annotations

import math

from . import _numba_env  # noqa: F401  (before numba: 512-bit vectors on AVX-512 CPUs)
from llvmlite import ir  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

__all__ = ["exp_neg", "exp_signed", "log1p", "log1p_small", "log_pos", "sin_0_pi", "cos_0_pi", "SMALL_X"]

#: Largest argument of :func:`log1p_small` (2^-13): its truncation error is below 2^-65 relative.
SMALL_X = 2.0 ** -13

_LN2_HI = 6.93147180369123816490e-01   # fdlibm: 32 trailing zero bits, so n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_LG1, _LG2, _LG3, _LG4 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, \
    2.222219843214978396e-01
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_ONE_BITS = 0x3FF0000000000000
_MANT = 0x000FFFFFFFFFFFFF


@intrinsic
def _f64_from_bits(typingctx, x):
    """The double whose IEEE-754 bits are the int64 ``x``."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_f64(typingctx, x):
    """The IEEE-754 bits of the double ``x`` as an int64."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(inline="always", cache=True, fastmath={"contract"})
def _exp_taylor(r: float) -> float:
    """``exp(r)`` for ``|r| <= ln2/2``: Taylor series of degree 13 (truncation < 5e-18 relative)."""
    p = 1.0 / 6227020800.0
    p = 1.0 / 479001600.0 + r * p
    p = 1.0 / 39916800.0 + r * p
    p = 1.0 / 3628800.0 + r * p
    p = 1.0 / 362880.0 + r * p
    p = 1.0 / 40320.0 + r * p
    p = 1.0 / 5040.0 + r * p
    p = 1.0 / 720.0 + r * p
    p = 1.0 / 120.0 + r * p
    p = 1.0 / 24.0 + r * p
    p = 1.0 / 6.0 + r * p
    p = 0.5 + r * p
    p = 1.0 + r * p
    return 1.0 + r * p


@njit(inline="always", cache=True, fastmath={"contract"})
def exp_neg(u: float) -> float:
    """``exp(-u)`` for ``u >= 0`` (~1 ulp; 0 beyond u = 745)."""
    n = min(float(int(u * _INV_LN2 + 0.5)), 1100.0)   # u >= 0: truncation is floor
    r = (n * _LN2_HI - u) + n * _LN2_LO
    p = _exp_taylor(r)
    ni = int(n)
    h = ni >> 1
    s1 = _f64_from_bits((1023 - h) << 52)
    s2 = _f64_from_bits((1023 - (ni - h)) << 52)
    out = (p * s1) * s2
    return out if u < 745.0 else 0.0


@njit(inline="always", cache=True, fastmath={"contract"})
def log1p(x: float) -> float:
    """``log(1 + x)`` for ``x > -0.29`` (~1 ulp), fdlibm's reduction without branches."""
    u = 1.0 + x
    err = (1.0 - (u - x)) if x >= 1.0 else (x - (u - 1.0))   # 1 + x = u + err exactly
    hx = _bits_of_f64(u) + (_ONE_BITS - _SQRT_HALF_BITS)
    k = float((hx >> 52) - 1023)
    m = _f64_from_bits((hx & _MANT) + _SQRT_HALF_BITS)     # u = 2^k m, m in [sqrt2/2, sqrt2)
    f = m - 1.0
    g = 2.0 + f
    r = 1.0 / (g * u)        # one division for s = f/(2 + f) and the correction err/u
    s = f * u * r
    z = s * s
    R = z * (_LG1 + z * (_LG2 + z * (_LG3 + z * (_LG4 + z * (_LG5 + z * (_LG6 + z * _LG7))))))
    hfsq = 0.5 * f * f
    c = err * g * r
    return k * _LN2_HI - ((hfsq - (s * (hfsq + R) + (k * _LN2_LO + c))) - f)


@njit(inline="always", cache=True, fastmath={"contract"})
def log1p_small(x: float) -> float:
    """``log(1 + x)`` for ``|x| <= SMALL_X``: ``x - x^2/2 + x^3/3 - x^4/4 + x^5/5`` (~1 ulp)."""
    return x - x * x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * 0.2)))


_PI_HI = 3.141592653589793116       # float(pi)
_PI_LO = 1.2246467991473532e-16      # pi - _PI_HI
_HALF_PI_HI = 0.5 * _PI_HI
_HALF_PI_LO = 0.5 * _PI_LO


@njit(inline="always", cache=True, fastmath={"contract"})
def exp_signed(z: float) -> float:
    """``exp(z)`` for ``|z| <= 700`` (~1 ulp): Cody-Waite with ``n = floor(z/ln2 + 1/2)``."""
    n = math.floor(z * _INV_LN2 + 0.5)
    r = (z - n * _LN2_HI) - n * _LN2_LO
    p = _exp_taylor(r)
    ni = int(n)
    h = ni >> 1
    s1 = _f64_from_bits((1023 + h) << 52)
    s2 = _f64_from_bits((1023 + (ni - h)) << 52)
    return (p * s1) * s2


@njit(inline="always", cache=True, fastmath={"contract"})
def log_pos(y: float) -> float:
    """``log(y)`` for a positive normal ``y`` (~1 ulp), fdlibm's reduction without branches."""
    hx = _bits_of_f64(y) + (_ONE_BITS - _SQRT_HALF_BITS)
    k = float((hx >> 52) - 1023)
    m = _f64_from_bits((hx & _MANT) + _SQRT_HALF_BITS)     # y = 2^k m, m in [sqrt2/2, sqrt2)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    R = z * (_LG1 + z * (_LG2 + z * (_LG3 + z * (_LG4 + z * (_LG5 + z * (_LG6 + z * _LG7))))))
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + R) + k * _LN2_LO)) - f)


@njit(inline="always", cache=True, fastmath={"contract"})
def _sin_series(y: float) -> float:
    """``sin(y)`` for ``|y| <= pi/2``: Taylor series to ``y^23`` (truncation ``< 1e-19``)."""
    z = y * y
    p = -1.0 / 25852016738884976640000.0
    p = 1.0 / 51090942171709440000.0 + z * p
    p = -1.0 / 121645100408832000.0 + z * p
    p = 1.0 / 355687428096000.0 + z * p
    p = -1.0 / 1307674368000.0 + z * p
    p = 1.0 / 6227020800.0 + z * p
    p = -1.0 / 39916800.0 + z * p
    p = 1.0 / 362880.0 + z * p
    p = -1.0 / 5040.0 + z * p
    p = 1.0 / 120.0 + z * p
    p = -1.0 / 6.0 + z * p
    return y + y * (z * p)


@njit(inline="always", cache=True, fastmath={"contract"})
def sin_0_pi(x: float) -> float:
    """``sin(x)`` for ``0 <= x <= pi`` (~1 ulp): Taylor series of ``sin y``, ``y = min(x, pi - x)``."""
    return _sin_series((_PI_HI - x) + _PI_LO if x > 1.5707963267948966 else x)


@njit(inline="always", cache=True, fastmath={"contract"})
def cos_0_pi(x: float) -> float:
    """``cos(x)`` for ``0 <= x <= pi`` (~1 ulp absolute): ``sin(pi/2 - x)``, ``pi/2`` in two parts."""
    return _sin_series((_HALF_PI_HI - x) + _HALF_PI_LO)
