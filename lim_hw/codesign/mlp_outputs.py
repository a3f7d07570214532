"""Output files of an MLP training run: CSV/JSON tables, PNG plots and report.html (atomic directory)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["write_mlp_outputs", "MLP_OUTPUT_FILES", "plot_mlp_training", "plot_confusion"]

MLP_OUTPUT_FILES = ("steps.csv", "synapses.csv", "trace.csv", "confusion.csv", "summary.json", "card.toml",
                    "training.png", "confusion.png", "report.html")


def plot_mlp_training(steps: pd.DataFrame, summary: dict[str, Any], path: Path) -> Path:
    """Accuracy (device and float) and cumulative energy per parameter over training, per layer."""
    from .plots import _save, plt

    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(7.5, 10.5), sharex=True,
                                        gridspec_kw={"height_ratios": [1.0, 1.4, 0.8]})
    ev = steps.dropna(subset=["acc_test"])
    ax1.plot(ev["n"], ev["acc_test"], "o-", ms=2.5, label="FN-DAM synapses (test)")
    ax1.plot(ev["n"], ev["acc_train"], "-", lw=0.8, alpha=0.7, label="FN-DAM synapses (train)")
    ax1.plot(ev["n"], ev["acc_test_float"], "--", label="float, same init/batches/schedule (test)")
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(max(0.0, float(ev["acc_test"].iloc[1:].min() if len(ev) > 1 else 0) - 0.05), 1.0)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title(f"digits, MLP {'-'.join(map(str, summary['layers']))}: {summary['n_parameters']} "
                  f"differential FN-DAM synapses, lr = {summary['lr']}")
    n = steps["n"]
    curves = [("E_drawn_cum_per_param_J", "device: drawn (no recovery)", "-"),
              ("E_net_cum_per_param_J", "device: net (ideal recovery)", "-."),
              ("E_tunnel_cum_per_param_J", "device: tunnelling", "--"),
              ("E_digital_cum_per_param_J", "digital update", ":"),
              ("E_landauer_cum_per_param_J", "Landauer bits kT ln 2", ":"),
              ("E_limB_cum_per_param_J", "LIM_B of the updates made", "-"),
              ("E_limA_cum_per_param_J", "LIM_A of the updates made", "-")]
    for col, label, ls in curves:
        y = steps[col].to_numpy(dtype=float)
        m = y > 0
        ax2.semilogy(n[m], y[m], ls, label=label)
    nl = len(summary["energy_per_layer_J"])
    for li in range(nl):
        y = steps[f"drawn_L{li}"].cumsum() / summary["n_parameters_per_layer"][li]
        ax2.semilogy(n, y, lw=0.7, alpha=0.6, label=f"drawn, layer {li} (per parameter)")
    ax2.set_ylabel("cumulative energy per parameter (J)")
    ax2.legend(fontsize=7, loc="lower right", ncol=2)
    ax2.grid(True, which="major", alpha=0.3)
    ax3.plot(n, steps["eps"] * steps["eps_device_gain"], label="effective learning rate")
    ax3.plot(n, steps["write_error_rms"], label="write error rms (mismatch)")
    ax3.set_xlabel("training step n (step 0 writes the initial weights)")
    ax3.set_ylabel("rate / error")
    ax3.legend(fontsize=8)
    return _save(fig, path)


def plot_confusion(C_device: np.ndarray, C_float: np.ndarray, path: Path) -> Path:
    """Test-set confusion matrices of the device-trained and the float-trained network."""
    from .plots import _save, plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, C, title in ((axes[0], C_device, "FN-DAM synapses"), (axes[1], C_float, "float")):
        ax.imshow(C, cmap="Blues")
        for i in range(C.shape[0]):
            for j in range(C.shape[1]):
                if C[i, j]:
                    ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if C[i, j] > C.max() / 2 else "black")
        ax.set_xticks(range(C.shape[1]))
        ax.set_yticks(range(C.shape[0]))
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.set_title(f"{title}: accuracy {np.trace(C) / C.sum():.3f}")
    return _save(fig, path)


_EXPLAIN = """<p>An MLP on the handwritten digits shipped with scikit-learn was trained online
(minibatch SGD) with every weight and bias stored as a differential FN-DAM synapse of the
closed-form device model (per-cell mismatch, intrinsic decay, optional shot noise). Each step the
controller read the weights from the floating-gate voltages, backpropagated the minibatch loss and
wrote the updates as control-gate pulses; the same network trained in float with the same initial
weights, minibatches and learning rate is the baseline. Energies: <b>drawn</b> (all sources, no
recovery), <b>net</b> (ideal recovery), <b>tunnelling</b> (dissipated in the oxide), the LIM bounds
N (E0 + |dE|) of the updates made (LIM_A; LIM_B with injected drive; our reconstruction of
arXiv:2402.14878), Landauer (bits kT ln 2 per parameter-update) and a digital update.
A window of updates of sampled synapses was replayed in ngspice. See docs/codesign.md s.7.</p>"""


def _table(df: pd.DataFrame, max_rows: int = 40) -> str:
    return df.head(max_rows).to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0, classes="t")


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


def _report(result, files: list[str]) -> str:
    s = result.summary
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>lim-hw train: digits</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table.t{border-collapse:"
             "collapse;font-size:12px}table.t td,table.t th{padding:2px 6px;border-bottom:1px solid #ddd;"
             "text-align:right}img{max-width:100%}pre{background:#f6f6f6;padding:8px;font-size:12px}</style>"
             "</head><body>", f"<h1>{html.escape(s['name'])}: MLP on FN-DAM synapses</h1>", _EXPLAIN]
    for title, key in (("Accuracy", "final"), ("Energy of the training run (J)", "energy_run_J"),
                       ("Energy per update (J)", "energy_per_update_J"), ("Ratios", "ratios"),
                       ("Weight window", "weights"), ("Speed", "speed")):
        d = _flat(s[key])
        parts += [f"<h2>{title}</h2>", _table(pd.DataFrame({"quantity": list(d), "value": [
            f"{v:.4g}" if isinstance(v, float) else str(v) for v in d.values()]}))]
    parts += ["<h2>Energy per layer (J)</h2>", _table(pd.DataFrame(s["energy_per_layer_J"]))]
    proj = s["projection_1e15"]
    rows = [{"training length": k, **{kk: vv for kk, vv in v.items()}} for k, v in proj.items()
            if isinstance(v, dict) and "updates_per_param" in v]
    parts += ["<h2>Projection to 1e15 parameters (J)</h2>", _table(pd.DataFrame(rows)),
              "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in proj["premises"]) + "</ul>"]
    for cap, img in (("Training curves", "training.png"), ("Confusion matrices (test set)", "confusion.png")):
        parts.append(f"<h2>{cap}</h2><img src='{img}' alt='{cap}'>")
    if result.check is not None and not result.check.empty:
        parts += ["<h2>ngspice replay of sampled synapses</h2>", _table(result.check)]
    parts.append("<h2>Files</h2><ul>" + "".join(f"<li><a href='{html.escape(f)}'>{html.escape(f)}</a></li>"
                                                 for f in files) + "</ul>")
    parts.append("<h2>Config</h2><pre>" + html.escape(json.dumps(result.config.to_dict(), indent=1, default=str))
                 + "</pre></body></html>")
    return "\n".join(parts)


def write_mlp_outputs(result, out_dir: str | Path) -> list[str]:
    """Write the run into ``out_dir`` atomically (the directory appears whole or not at all)."""
    from ..device.card import card_to_toml
    from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
    from ..provenance import versions
    from .train import _jsonable

    summary = {**result.summary, "config": result.config.to_dict(), "versions": versions()}
    files = [f for f in MLP_OUTPUT_FILES]
    if result.check_summary is not None:
        summary["ngspice_check"] = result.check_summary
    if result.check is not None:
        files.insert(3, "ngspice_check.csv")
    with atomic_directory(out_dir) as tmp:
        write_csv_atomic(tmp / "steps.csv", result.steps)
        write_csv_atomic(tmp / "synapses.csv", result.synapses)
        write_csv_atomic(tmp / "trace.csv", result.trace)
        if result.check is not None:
            write_csv_atomic(tmp / "ngspice_check.csv", result.check)
        conf = pd.concat([pd.DataFrame(result.confusion[k], columns=[f"pred_{i}" for i in range(10)])
                          .assign(network=k, true=range(10)) for k in ("device", "float")])
        write_csv_atomic(tmp / "confusion.csv", conf)
        write_json_atomic(tmp / "summary.json", _jsonable(summary))
        write_text_atomic(tmp / "card.toml", card_to_toml(result.config.card,
                                                          header=f"device card of training run '{result.config.name}'"))
        plot_mlp_training(result.steps, result.summary, tmp / "training.png")
        plot_confusion(result.confusion["device"], result.confusion["float"], tmp / "confusion.png")
        write_text_atomic(tmp / "report.html", _report(result, files))
    return files
