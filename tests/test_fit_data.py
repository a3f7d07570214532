"""Reading fit data (lim_hw.fit.data): columns, comments, V_fg conversion, and one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest

from lim_hw.device.floating_gate import fn_closed_form_V
from lim_hw.errors import InputError
from lim_hw.fit import read_fit_csv

T = np.geomspace(10.0, 1e6, 12)
V = fn_closed_form_V(T, 12e-9, 1e-12, 100e-15, 8.0)


def _csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _f(x) -> str:
    return f"{float(x):.17g}"


def _decay_text(t=T, v=V, col="V_ox_V"):
    return "# a comment line\n" + f"time_s,{col}\n" + "".join(f"{_f(a)},{_f(b)}\n" for a, b in zip(t, v))


def test_reads_decay_with_comments_and_extra_columns(tmp_path):
    text = "# measured on bench 3\n# units in the names\ntime_s,V_ox_V,temperature_K\n" + \
        "".join(f"{_f(a)},{_f(b)},300\n" for a, b in zip(T, V))
    d = read_fit_csv(_csv(tmp_path, text), "decay")
    np.testing.assert_array_equal(d.columns["time_s"], T)
    np.testing.assert_array_equal(d.columns["V_ox_V"], V)
    assert d.n_rows == T.size and len(d.sha256) == 64 and "temperature_K" in d.header


def test_V_fg_is_converted_with_card_or_column(tmp_path):
    p = _csv(tmp_path, _decay_text(v=10.0 - V, col="V_fg_V"))
    d = read_fit_csv(p, "decay", V_tun_V=10.0)
    np.testing.assert_allclose(d.columns["V_ox_V"], V, rtol=1e-12)
    assert any("base card" in n for n in d.notes)
    with pytest.raises(InputError, match="V_tun_V"):
        read_fit_csv(p, "decay")
    text = "time_s,V_fg_V,V_tun_V\n" + "".join(f"{_f(a)},{_f(9.0 - b)},9.0\n" for a, b in zip(T, V))
    d2 = read_fit_csv(_csv(tmp_path, text, "e.csv"), "decay", V_tun_V=10.0)
    np.testing.assert_allclose(d2.columns["V_ox_V"], V, rtol=1e-12)


def test_iv_sorted_and_sigma(tmp_path):
    text = ("voltage_V,current_A,sigma_A\n12,3e-12,1e-13\n10,1e-13,1e-14\n11,1e-12,1e-13\n"
            "13,1e-11,1e-12\n14,5e-11,1e-12\n")
    d = read_fit_csv(_csv(tmp_path, text), "iv")
    assert list(d.columns["voltage_V"]) == [10, 11, 12, 13, 14]
    assert list(d.columns["sigma_A"]) == [1e-14, 1e-13, 1e-13, 1e-12, 1e-12]


BAD = [
    ("decay", "time_s,V_ox_V\n" + "".join(f"{t},7.5\n" for t in T), "constant"),
    ("decay", _decay_text(T[:4], V[:4]), "at least 5"),
    ("decay", _decay_text().replace(_f(V[5]), "nan"), "missing or NaN"),
    ("decay", _decay_text().replace(_f(V[5]), ""), "missing or NaN"),
    ("decay", _decay_text().replace(_f(V[5]), "abc"), "not a finite number"),
    ("decay", _decay_text(T[[0, 2, 1, *range(3, 12)]], V), "not strictly increasing at data row 3"),
    ("decay", _decay_text(np.r_[T[:5], T[4], T[6:]], V), "not strictly increasing"),
    ("decay", "time_s,voltage\n1,2\n", "no column V_ox_V or V_fg_V"),
    ("decay", "", "no header"),
    ("iv", "voltage_V,current_A\n10,1e-13\n11,-1e-12\n12,3e-12\n13,1e-11\n14,5e-11\n", "negative at data row 2"),
    ("iv", "voltage_V,current_A\n10,0\n11,1e-12\n12,3e-12\n13,1e-11\n14,5e-11\n", "is 0 at data row 1"),
    ("iv", "voltage_V,current_A\n10,1e-13\n11,1e-12\n", "at least 5"),
    ("pulse", "t_pulse_s,dV\n1,2\n", "no column dV_V"),
    ("pulse", 'a,"b\n1,2\n', "readable CSV|no column"),
]


@pytest.mark.parametrize("model, text, msg", BAD)
def test_bad_files_refused_with_one_line(tmp_path, model, text, msg):
    with pytest.raises(InputError, match=msg) as exc:
        read_fit_csv(_csv(tmp_path, text), model)
    assert "\n" not in str(exc.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="cannot read data file"):
        read_fit_csv(tmp_path / "missing.csv", "decay")
    with pytest.raises(InputError, match="data file .* is a directory"):
        read_fit_csv(tmp_path, "decay")
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    with pytest.raises(InputError, match="not UTF-8|readable CSV"):
        read_fit_csv(p, "decay")
    with pytest.raises(InputError, match="unknown fit model"):
        read_fit_csv(p, "spline")
