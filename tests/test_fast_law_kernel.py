"""The fused numba kernels under the thermal / image-force FN law against the numpy reference kernels.

Both paths solve the same exact u-space step (docs/device.md s.8, lim_hw.device.trajectory):
Newton on a Gauss-Legendre integral, stopped when every step is below 2e-7 relative (error
~2e-14). They differ only in rounding, in where the node count is chosen (per block of 4096
cells vs per array) and in where Newton stops, so they must agree to ~1e-12 relative on every
per-cell step, final voltage and per-update energy. Cards: held-out rectangular cards of
tests/data/cards/ (other device values, thin oxide, a long run) under their own default
(thermal) law, one of them with image force too; mismatch and per-synapse amplitudes of both
signs so every cell has its own k1, k2 and both halves are pulsed somewhere in every update.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lim_hw.device.card import default_card, load_card
from lim_hw.fast import chunk, simulate_fast
from lim_hw.netlist.synthesis import synthesize

CARDS = Path(__file__).parent / "data" / "cards"
RTOL = 1e-12
ENERGY_COLUMNS = ("E_supply_J", "E_net_J", "E_tunnel_J", "E_tunnel_beyond_J", "E_driver_J", "E_bias_J", "N_sim",
                  "dV_fg_V")


def _inputs(card, S, seed):
    table = synthesize(card)
    rng = np.random.default_rng(seed)
    dev = card.device
    mm = {"tox_m": dev.tox_m * (1 + 0.01 * rng.standard_normal(2 * S)),
          "area_m2": dev.area_m2 * (1 + 0.02 * rng.standard_normal(2 * S))}
    vp = table["V_p_V"].to_numpy()
    sign = rng.choice([-1.0, 1.0, 0.0], size=(len(vp), S), p=[0.45, 0.45, 0.1])
    return table, mm, vp[:, None] * sign


@pytest.mark.parametrize("name,image_force", [("rect_other_device", False), ("thin_oxide", False),
                                              ("long_run", True)])
def test_numba_law_kernels_equal_numpy_reference(name, image_force):
    card = load_card(CARDS / f"{name}.toml")
    if image_force:
        card = card.with_updates(device={"image_force": True})
    assert card.device.fn_model == "thermal"
    S = 300
    table, mm, amps = _inputs(card, S, seed=7)
    for kw in ({}, {"mismatch": mm, "amplitudes": amps}):
        fast = simulate_fast(card, table, n_synapses=S, keep="per_cell", **kw)
        ref = simulate_fast(card, table, n_synapses=S, keep="per_cell", kernels="numpy", **kw)
        assert fast.info["kernels"] == "numba" and ref.info["kernels"] == "numpy"
        np.testing.assert_allclose(fast.V_ox_final_V, ref.V_ox_final_V, rtol=RTOL)
        scale = np.abs(ref.dV_fg_V).max()
        assert scale > 0
        np.testing.assert_allclose(fast.dV_fg_V, ref.dV_fg_V, rtol=RTOL, atol=RTOL * scale)
        assert np.array_equal(fast.dV_fg_V != 0, ref.dV_fg_V != 0)
        for col in ENERGY_COLUMNS:
            a, b = fast.updates[col].to_numpy(), ref.updates[col].to_numpy()
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.nanmax(np.abs(b)), err_msg=col)


def test_default_card_takes_the_numba_path(monkeypatch):
    card = default_card().with_updates(schedule={"n_updates": 3})
    assert card.device.fn_model == "thermal" and card.programming.shape == "rectangular"

    def refuse(*a, **k):
        raise AssertionError("the numpy kernels ran for the default card")

    monkeypatch.setattr(chunk, "_run_chunk_numpy", refuse)
    res = simulate_fast(card, n_synapses=5)
    assert res.info["kernels"] == "numba"
    assert np.all(res.updates["N_sim"] > 0)
    with pytest.raises(AssertionError, match="numpy kernels ran"):
        simulate_fast(card, n_synapses=5, kernels="numpy")
