"""ScheduleSpec: schedule formulas, validation, table CSVs, time budget, Robbins-Monro."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lim_hw.errors import InputError
from lim_hw.theory import ScheduleSpec
from lim_hw.theory.schedules import eps_at, robbins_monro, time_budget_s


def test_defaults_and_eps_formulas():
    s = ScheduleSpec()
    assert (s.kind, s.n_updates, s.eps0, s.alpha, s.grad) == ("inverse", 20, 0.5, 0.5, 1.0)
    n = np.arange(1, 21)
    np.testing.assert_allclose(s.eps(), 0.5 / n, rtol=1e-15)
    np.testing.assert_allclose(ScheduleSpec(n0=10.0).eps(), 0.5 / (1 + (n - 1) / 10), rtol=1e-15)
    np.testing.assert_allclose(ScheduleSpec(kind="power", p=0.7).eps(), [0.5 * k ** -0.7 for k in n], rtol=1e-14)
    # exponential convention: eps_n = eps0 * gamma**(n-1), so eps_1 = eps0
    np.testing.assert_allclose(ScheduleSpec(kind="exponential", gamma=0.8).eps(),
                               [0.5 * 0.8 ** (k - 1) for k in n], rtol=1e-13)
    np.testing.assert_array_equal(ScheduleSpec(kind="constant", eps0=0.1).eps(), np.full(20, 0.1))
    for kind in ("inverse", "power", "exponential", "constant"):
        assert ScheduleSpec(kind=kind).eps()[0] == pytest.approx(0.5, rel=1e-15)


def test_steps_columns_and_update_rate():
    s = ScheduleSpec(kind="power", p=0.8, n_updates=7, grad=0.4, alpha=0.3)
    df = s.steps(1e4)
    assert list(df.columns) == ["n", "eps", "grad", "R_per_s"]
    assert df["n"].dtype.kind == "i" and list(df["n"]) == list(range(1, 8))
    np.testing.assert_array_equal(df["grad"], 0.4)
    np.testing.assert_allclose(df["R_per_s"], [1e4 * (0.5 * k ** -0.8) ** 1.3 for k in range(1, 8)], rtol=1e-13)


def test_zero_updates_is_empty():
    s = ScheduleSpec(n_updates=0)
    assert s.eps().shape == (0,)
    df = s.steps(1e3)
    assert len(df) == 0 and list(df.columns) == ["n", "eps", "grad", "R_per_s"]
    assert s.time_budget_s(1e3) == 0.0


def test_time_budget():
    # constant: N / (R_max eps0^(1+alpha)); inverse (eps0 = 1, n0 = 1, alpha = 0.5): sum n^1.5 / R_max
    s = ScheduleSpec(kind="constant", eps0=0.25, n_updates=40, alpha=0.5)
    assert s.time_budget_s(100.0) == pytest.approx(40 / (100 * 0.25 ** 1.5), rel=1e-13)
    s = ScheduleSpec(eps0=1.0, n_updates=10)
    assert s.time_budget_s(2.0) == pytest.approx(sum(k ** 1.5 for k in range(1, 11)) / 2, rel=1e-13)
    assert time_budget_s([]) == 0.0


@pytest.mark.parametrize("spec,expected", [
    (ScheduleSpec(), True),
    (ScheduleSpec(kind="power", p=1.0), True),
    (ScheduleSpec(kind="power", p=0.7), True),
    (ScheduleSpec(kind="power", p=0.5), False),   # sum eps^2 = sum 1/n diverges
    (ScheduleSpec(kind="power", p=1.2), False),   # sum eps converges
    (ScheduleSpec(kind="exponential"), False),
    (ScheduleSpec(kind="constant"), False),
])
def test_robbins_monro(spec, expected):
    assert robbins_monro(spec)["satisfied"] is expected
    assert spec.robbins_monro() == robbins_monro(spec)


def test_round_trip_dict():
    for s in (ScheduleSpec(), ScheduleSpec(kind="power", p=0.6, n_updates=0),
              ScheduleSpec(kind="exponential", gamma=0.5, alpha=0.9, grad=2.0)):
        d = s.to_dict()
        assert "table_csv" not in d
        assert ScheduleSpec.from_dict(d) == s
    # integers are accepted for float keys and floats with integral value for n_updates
    assert ScheduleSpec.from_dict({"eps0": 1, "n_updates": 1e3}).n_updates == 1000


@pytest.mark.parametrize("d,needle", [
    ({"foo": 1}, "foo"),
    ({"eps0": float("nan")}, "eps0"),
    ({"eps0": 0.0}, "eps0"),
    ({"eps0": -0.1}, "eps0"),
    ({"alpha": 1.0}, "alpha"),
    ({"alpha": 0.0}, "alpha"),
    ({"gamma": 1.0, "kind": "exponential"}, "gamma"),
    ({"n_updates": 2.5}, "n_updates"),
    ({"n_updates": -1}, "n_updates"),
    ({"n_updates": True}, "n_updates"),
    ({"eps0": "0.5"}, "eps0"),
    ({"kind": "cosine"}, "cosine"),
    ({"kind": 3}, "kind"),
    ({"kind": "table"}, "table_csv"),
    ({"p": float("inf")}, "'p'"),
    ({"table_csv": "x.csv"}, "table_csv"),
])
def test_from_dict_rejects(d, needle):
    with pytest.raises(InputError) as ei:
        ScheduleSpec.from_dict(d)
    msg = str(ei.value)
    assert needle in msg and "\n" not in msg


def test_steps_rejects_bad_R_max():
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InputError, match="R_max"):
            ScheduleSpec().steps(bad)


def test_table_csv(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.csv").write_text("# comment\nn,eps,R_per_s,grad\n1,0.5,100,0.5\n2,0.2,40,0.25\n4,0.1,7,1\n")
    s = ScheduleSpec.from_dict({"kind": "table", "table_csv": "sub/s.csv"}, base_dir=tmp_path)
    assert s.n_updates == 3
    df = s.steps(1e3)
    assert list(df["n"]) == [1, 2, 4]
    np.testing.assert_array_equal(df["eps"], [0.5, 0.2, 0.1])
    np.testing.assert_array_equal(df["R_per_s"], [100, 40, 7])
    np.testing.assert_array_equal(df["grad"], [0.5, 0.25, 1])
    assert ScheduleSpec.from_dict(s.to_dict()) == s
    assert robbins_monro(s)["satisfied"] is None
    # without R_per_s/grad: R = R_max eps^(1+alpha), grad = spec.grad
    (tmp_path / "e.csv").write_text("n,eps\n1,0.5\n2,0.25\n")
    s2 = ScheduleSpec(kind="table", table_csv=str(tmp_path / "e.csv"), grad=0.3, alpha=0.2)
    assert s2.n_updates == 2
    df = s2.steps(10.0)
    np.testing.assert_allclose(df["R_per_s"], [10 * 0.5 ** 1.2, 10 * 0.25 ** 1.2], rtol=1e-14)
    np.testing.assert_array_equal(df["grad"], [0.3, 0.3])
    with pytest.raises(InputError, match="n_updates"):
        ScheduleSpec.from_dict({"kind": "table", "table_csv": str(tmp_path / "e.csv"), "n_updates": 5})
    with pytest.raises(InputError):
        eps_at(s2, 3.0)


@pytest.mark.parametrize("content", [
    "n,eps\n1,0.1\n2,abc\n",            # not a number
    "n,eps\n1,0.1\n2,-0.1\n",           # eps <= 0
    "n,eps\n1,0.1\n2,nan\n",            # NaN
    "n,eps\n2,0.1\n1,0.2\n",            # n not increasing
    "n,eps,speed\n1,0.1,3\n",           # unknown column
    "n,R_per_s\n1,3\n",                 # no eps
    "n,eps\n",                          # no rows
    "",                                 # empty file
    b"\x00\xff\xfe\x01",                # binary junk
])
def test_bad_table_csv(tmp_path, content):
    p = tmp_path / "bad.csv"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError) as ei:
        ScheduleSpec.from_dict({"kind": "table", "table_csv": str(p)})
    assert "\n" not in str(ei.value)


def test_missing_table_csv(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ScheduleSpec.from_dict({"kind": "table", "table_csv": "nope.csv"}, base_dir=tmp_path)


def test_eps_at_matches_eps_on_integers():
    for kind in ("inverse", "power", "exponential", "constant"):
        s = ScheduleSpec(kind=kind, n_updates=30, p=0.6, n0=3.0)
        np.testing.assert_array_equal(eps_at(s, np.arange(1, 31, dtype=float)), s.eps())
    assert math.isclose(eps_at(ScheduleSpec(), 2.5), 0.5 / 2.5, rel_tol=1e-15)
