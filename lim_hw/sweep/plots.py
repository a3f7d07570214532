"""Summary plots of a sweep table (matplotlib, Agg backend).

- ``plot_<axis>.png`` for every grid axis with more than one value: energy per
  update (median over the updates of each point) and its ratio to the LIM bound
  against the axis; every ok point is a dot, the line joins the medians over the
  other axes and Monte Carlo samples.
- ``plot_montecarlo.png`` with Monte Carlo: histograms of the same two numbers
  over the samples (one colour per grid point when there are at most 6).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .spec import SweepSpec  # noqa: E402

#: (column, label) candidates for the two panels, first present wins.
ENERGY = (("E_supply_median_J", "energy per update drawn from supplies (J)"),
          ("E_bound_median_J", "LIM bound per update (J)"))
RATIO = (("ratio_supply_to_bound_median", "energy / LIM bound"),
         ("E_diss_total_kT", "total LIM dissipation (kT)"))


def _pick(table: pd.DataFrame, candidates) -> tuple[str, str] | None:
    for col, label in candidates:
        if col in table.columns and table[col].notna().any():
            return col, label
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
        files.append(plot_montecarlo(ok, [a.key for a in spec.grid], panels,
                                     Path(out_dir) / "plot_montecarlo.png"))
    return files


def plot_axis(ok: pd.DataFrame, key: str, panels, path: Path, bound: str | None = None) -> str:
    """Panels of ``panels`` columns against the grid axis ``key``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    x_raw = ok[key]
    categorical = x_raw.map(lambda v: isinstance(v, str)).any()
    cats = list(dict.fromkeys(x_raw)) if categorical else None
    x = x_raw.map(cats.index).astype(float) if categorical else x_raw.astype(float)
    for ax, (col, label) in zip(axes[0], panels):
        y = ok[col].astype(float)
        ax.plot(x, y, "o", ms=3, alpha=0.35, color="C0", label="points")
        med = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"].median()
        ax.plot(med.index, med.values, "-", color="C0", lw=1.5, label="median")
        if bound and col == panels[0][0] and bound in ok:
            b = pd.DataFrame({"x": x, "y": ok[bound].astype(float)}).groupby("x")["y"].median()
            ax.plot(b.index, b.values, "--", color="k", lw=1, label="LIM bound (median)")
        drew_bound = bool(bound and col == panels[0][0] and bound in ok)
        if (y > 0).all() and (drew_bound or y.max() / max(y.min(), 1e-300) > 20):
            ax.set_yscale("log")
        if not categorical and (x > 0).all() and x.max() / x.min() > 20:
            ax.set_xscale("log")
        if categorical:
            ax.set_xticks(range(len(cats)), cats)
        ax.set_xlabel(key)
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.suptitle(f"sweep over {key}", fontsize=10)
    return _save(fig, path)


def plot_montecarlo(ok: pd.DataFrame, grid_keys: list[str], panels, path: Path) -> str:
    """Histograms of the panel columns over the Monte Carlo samples.

    Without grid axes: the values themselves. With grid axes: each sample relative to the
    median of its grid point (%), so that the mismatch spread is not hidden by the grid.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    groups = list(ok.groupby(grid_keys, sort=False)) if grid_keys else [((), ok)]
    relative = bool(grid_keys)
    overlay = 1 < len(groups) <= 6
    for ax, (col, label) in zip(axes[0], panels):
        series, spreads = [], []
        for name, g in groups:
            v = g[col].astype(float).dropna()
            if v.empty:
                continue
            med = float(np.median(v))
            spreads.append(float(np.std(v) / abs(np.mean(v))) if np.mean(v) else float("nan"))
            series.append((name, 100.0 * (v / med - 1.0) if relative and med else v))
        if not series:
            continue
        data = pd.concat([v for _, v in series])
        bins = np.histogram_bin_edges(data, bins=min(30, max(5, int(np.sqrt(len(data))))))
        if overlay:
            for name, v in series:
                name = name if isinstance(name, tuple) else (name,)
                tag = ", ".join(f"{k.split('.')[-1]}={v_:.4g}" if not isinstance(v_, str) else f"{k}={v_}"
                                for k, v_ in zip(grid_keys, name))
                ax.hist(v, bins=bins, alpha=0.5, label=tag)
            ax.legend(fontsize=7)
        else:
            ax.hist(data, bins=bins, color="C0", alpha=0.8)
        ax.set_xlabel(f"{label}: deviation from its grid point's median (%)" if relative else label, fontsize=8)
        ax.set_ylabel("samples")
        ax.set_title(f"relative spread std/mean: {np.nanmedian(spreads):.3g}"
                     + (" (median over grid points)" if len(spreads) > 1 else ""), fontsize=9)
    fig.suptitle(f"Monte Carlo mismatch: {len(ok)} ok points", fontsize=10)
    return _save(fig, path)
