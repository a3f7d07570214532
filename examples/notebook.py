# %% [markdown]
# # lim-hw from a notebook
#
# Run it as a script (`.venv/bin/python examples/notebook.py`, ~10 s) or open it in
# Jupyter/VS Code, which read the `# %%` cells. It writes only under `build/examples/`
# (ignored by git; `LIM_HW_EXAMPLES_OUT` moves it) and checks what it prints, so
# tests/test_examples.py runs it as a test.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; a notebook shows the figure inline anyway
import matplotlib.pyplot as plt
import numpy as np

import lim_hw
from lim_hw.constants import q_C

OUT = Path(os.environ.get("LIM_HW_EXAMPLES_OUT", "build/examples")) / "notebook"

# %% [markdown]
# ## A design variant, simulated in memory
# Change what differs from the default card; `run_flow(card, None)` runs ngspice and the
# energy accounting and keeps everything in memory (nothing is written).

# %%
card = lim_hw.default_card().with_updates(schedule={"n_updates": 8}, programming={"R_drv_ohm": 2e5})
res = lim_hw.run_flow(card, None, progress=False)
print(res.summary["E_supply_median_J"], "J drawn per update (median)")
print(res.updates[["n", "N_target", "N_sim", "E_supply_J", "E_bound_J"]].round(25).head())

# %% [markdown]
# Waveforms are indexed by their ngspice names. The floating-gate step of the first
# update, read off the sensed tunnelling charge, is N_sim q / C_T:

# %%
wf = res.waveforms
t, v_fg = wf.time_s, wf["v(fg)"]
step_V = res.updates["N_sim"].iloc[0] * q_C / card.device.C_T_F
print(f"{len(t)} time points; first weight step {step_V * 1e6:.2f} uV "
      f"(synthesis predicts {res.synthesis['dV_fg_pred_V'].iloc[0] * 1e6:.2f} uV)")
assert abs(step_V / res.synthesis["dV_fg_pred_V"].iloc[0] - 1) < 1e-3

# %% [markdown]
# ## The same run written to disk and read back
# `plots=False` skips the PNG figures and report.html; `load_result` reads a run
# directory (also one written by `lim-hw simulate`).

# %%
lim_hw.run_flow(card, OUT / "run", progress=False, plots=False)
back = lim_hw.load_result(OUT / "run")
print(back.headline)
np.testing.assert_allclose(back.updates["E_supply_J"], res.updates["E_supply_J"], rtol=1e-9)
assert np.array_equal(back.waveforms["v(fg)"], v_fg)

# %% [markdown]
# ## A figure of your own

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(back.updates["n"], back.updates["E_supply_J"], "o-", label="drawn")
ax.semilogy(back.updates["n"], back.updates["E_bound_J"], "k--", label="LIM bound")
ax.set_xlabel("update n")
ax.set_ylabel("energy per update (J)")
ax.legend()
fig.savefig(OUT / "energy_vs_bound.png", dpi=100)
print(f"wrote {OUT / 'energy_vs_bound.png'}")
