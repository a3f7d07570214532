"""Summary plots of a sweep table (matplotlib, Agg backend), axes in engineering units.

- ``plot_<axis>.png`` for every grid axis with more than one value: energy per
  update (median over the updates of each point) and its ratio to the LIM bound
  against the axis, in the axis' own unit (``tox`` in nm, ``R_drv`` in kΩ: no
  ``1e-8`` offset); every ok point is a dot, the line joins the medians over the
  other axes and Monte Carlo samples.
- ``plot_montecarlo.png`` with Monte Carlo: the distributions that matter under
  mismatch: the schedule tracking error (rms over the updates of each sample, %)
  and the energy per update, one box with every sample beside it per grid point
  (a histogram when there is one grid point or more than :data:`MAX_BOXES`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..report.plots import eng_axis, sci_axis  # noqa: E402
from ..report.units import eng, key_label, split_unit  # noqa: E402
from .spec import SweepSpec  # noqa: E402

#: (column, label, unit) candidates for the two panels, first present wins.
ENERGY = (("E_supply_median_J", "energy per update drawn from the supplies", "J"),
          ("E_bound_median_J", "LIM bound per update", "J"))
RATIO = (("ratio_supply_to_bound_median", "energy / LIM bound", ""),
         ("E_diss_total_kT", "total LIM dissipation (kT)", ""))
#: Monte Carlo panels: (column, label, scale, unit) - tracking error first: the result mismatch decides.
MC_PANELS = (("tracking_error_rms", "schedule tracking error, rms over updates (%)", 100.0, ""),
             ("E_supply_median_J", "energy per update drawn (median over updates)", 1.0, "J"),
             ("E_bound_median_J", "LIM bound per update", 1.0, "J"))
MAX_BOXES = 12


def _pick(table: pd.DataFrame, candidates) -> tuple[str, str, str] | None:
    for col, label, unit in candidates:
        if col in table.columns and table[col].notna().any():
            return col, label, unit
    return None


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def plot_sweep(table: pd.DataFrame, spec: SweepSpec, out_dir: Path) -> list[str]:
    """Write the summary plots into ``out_dir``; returns their file names."""
    ok = table[table["status"] == "ok"] if "status" in table else table
    panels = [p for p in (_pick(ok, ENERGY), _pick(ok, RATIO)) if p is not None]
    if ok.empty or not panels:
        return []
    files = []
    for axis in spec.grid:
        if len(axis.values) > 1:
            files.append(plot_axis(ok, axis.key, panels, Path(out_dir) / f"plot_{axis.key}.png",
                                   bound=("E_bound_median_J" if panels[0][0] == "E_supply_median_J" else None)))
    if spec.montecarlo is not None:
        files.append(plot_montecarlo(ok, [a.key for a in spec.grid], Path(out_dir) / "plot_montecarlo.png"))
    return files


def plot_axis(ok: pd.DataFrame, key: str, panels, path: Path, bound: str | None = None) -> str:
    """Panels of ``panels`` columns against the grid axis ``key``, in its engineering unit."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    x_raw = ok[key]
    categorical = x_raw.map(lambda v: isinstance(v, str)).any()
    cats = list(dict.fromkeys(x_raw)) if categorical else None
    x_unit = split_unit(key.split(".")[-1])[1]
    log_x = not categorical and (x_raw.astype(float) > 0).all() and \
        x_raw.astype(float).max() / x_raw.astype(float).min() > 20
    if categorical:
        label, x = key.split(".")[-1], x_raw.map(cats.index).astype(float)
    elif log_x:  # SI values, ticks in engineering units (10 kΩ, 100 kΩ, 1 MΩ)
        label, x = key_label(key)[0].rsplit(" (", 1)[0], x_raw.astype(float)
    else:        # one prefix for the axis: 11.5, 12.0, 12.5 nm
        label, factor = key_label(key, x_raw.astype(float))
        x = x_raw.astype(float) * factor
    for ax, (col, ylabel, unit) in zip(axes[0], panels):
        y = ok[col].astype(float)
        ax.plot(x, y, "o", ms=3, alpha=0.35, color="C0", label="points")
        med = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"].median()
        ax.plot(med.index, med.values, "-", color="C0", lw=1.5, label="median")
        drew_bound = bool(bound and col == panels[0][0] and bound in ok)
        if drew_bound:
            b = pd.DataFrame({"x": x, "y": ok[bound].astype(float)}).groupby("x")["y"].median()
            ax.plot(b.index, b.values, "--", color="k", lw=1, label="LIM bound (median)")
        if (y > 0).all() and (drew_bound or y.max() / max(y.min(), 1e-300) > 20):
            ax.set_yscale("log")
        if unit:
            eng_axis(ax, unit)
        else:
            sci_axis(ax)
        if log_x:
            ax.set_xscale("log")
            if x_unit:
                eng_axis(ax, x_unit, axis="x")
        if categorical:
            ax.set_xticks(range(len(cats)), cats)
        if ax.get_xscale() == "linear":
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        ax.set_xlabel(label)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"sweep over {label}", fontsize=10)
    return _save(fig, path)


def grid_point_label(keys: list[str], values) -> str:
    """``"t_ox 11.5 nm, R_drv 10.0 kΩ"`` for one grid point."""
    values = values if isinstance(values, tuple) else (values,)
    parts = []
    for k, v in zip(keys, values):
        field = k.split(".")[-1]
        base, unit = split_unit(field)
        parts.append(f"{base} {v}" if isinstance(v, str) or not unit else f"{base} {eng(float(v), unit)}")
    return ", ".join(parts)


def plot_montecarlo(ok: pd.DataFrame, grid_keys: list[str], path: Path) -> str:
    """Distributions over the Monte Carlo samples: tracking error (%) and energy per update.

    One box (quartiles, whiskers to 1.5 IQR) per grid point with every sample drawn
    beside it, so few samples stay readable; a histogram for a single grid point or
    more than :data:`MAX_BOXES`.
    """
    panels = [p for p in MC_PANELS if p[0] in ok.columns and ok[p[0]].notna().any()][:2]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(6.2 * max(len(panels), 1), 4.6), squeeze=False)
    groups = list(ok.groupby(grid_keys, sort=False)) if grid_keys else [((), ok)]
    boxes = 1 < len(groups) <= MAX_BOXES
    n_samples = int(np.median([len(g) for _, g in groups])) if groups else 0
    rng = np.random.default_rng(0)  # jitter only (where the dots sit), not data
    for ax, (col, label, scale, unit) in zip(axes[0], panels):
        series = [(name, g[col].astype(float).dropna().to_numpy() * scale) for name, g in groups]
        series = [(n, v) for n, v in series if v.size]
        if boxes:
            data = [v for _, v in series]
            ax.boxplot(data, widths=0.5, showfliers=False, medianprops={"color": "C1"})
            for k, v in enumerate(data, start=1):
                ax.plot(k + rng.uniform(-0.18, 0.18, v.size), v, "o", ms=3.5, alpha=0.6, color="C0")
            ax.set_xticks(range(1, len(series) + 1),
                          [grid_point_label(grid_keys, n) for n, _ in series], rotation=20, ha="right", fontsize=7)
        else:
            values = np.concatenate([v for _, v in series]) if series else np.array([])
            ax.hist(values, bins=min(30, max(6, int(np.sqrt(values.size)) + 1)), color="C0", alpha=0.8)
            ax.set_xlabel(label, fontsize=8)
            ax.set_ylabel("samples")
        if boxes:
            ax.set_ylabel(label, fontsize=8)
        if unit:
            eng_axis(ax, unit, axis="y" if boxes else "x")
        ax.grid(alpha=0.25, axis="y" if boxes else "x")
        med = np.median(np.concatenate([v for _, v in series])) if series else float("nan")
        shown = eng(med, unit) if unit else f"{med:.3g} %"
        spread = [100 * (v.max() - v.min()) / abs(np.median(v)) for _, v in series if v.size > 1 and np.median(v)]
        within = f"; spread within a grid point {np.median(spread):.2g} % (median)" if spread and unit else ""
        ax.set_title(f"median {shown} over {sum(v.size for _, v in series)} samples{within}", fontsize=9)
    fig.suptitle(f"Monte Carlo mismatch: {len(ok)} ok points, {n_samples} samples per grid point", fontsize=10)
    return _save(fig, path)
