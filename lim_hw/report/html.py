"""report.html: a run explained to someone who was not there, readable at a glance.

Order: the headline sentence, the energy breakdown, the figures, a compact
per-update table (the full one is the linked updates.csv), what was simulated,
the files, the device card and the provenance. Every number is formatted with
its unit and sensible digits (:mod:`lim_hw.report.units`). The page is one
self-contained file: inline CSS, images by relative path, no scripts, fonts or
other external resources, so it opens from ``file://`` without a server.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from .headline import breakdown_rows, headline
from .units import eng, kelvin, sci, split_unit

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1000px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0.1em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0}.headline{font-size:1.15em;background:#f3f7fb;border-left:4px solid #1f77b4;
padding:0.7em 1em;margin:1em 0}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
th{background:#fafafa}td:first-child,th:first-child{text-align:left}
table.kv td{text-align:left;white-space:normal}table.kv td:first-child{color:#555;white-space:nowrap}figure{margin:1.2em 0}figcaption{font-weight:600;margin-bottom:0.3em}
img{max-width:100%;height:auto}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}
.note{color:#666;font-size:13px}td.gap{text-align:center;color:#888}
"""

_EXPLAIN = """
<p>This run simulated an FN-DAM (Fowler&ndash;Nordheim dynamic analog memory) design in ngspice
under a learning-rate schedule. For every weight update the control gate was pulsed with an
amplitude synthesised from the schedule (<a href='synthesis.csv'>synthesis.csv</a>) so that the pulse
moves <i>N_target</i> electrons through the tunnelling junction on top of the natural decay.
The waveforms were split into update windows and the energy of each update was integrated:</p>
<ul>
<li><b>drawn</b> (E_supply): energy drawn from all sources, counting only delivered power (a driver that
cannot recover energy);</li>
<li><b>net</b> (E_net): net energy with perfect recovery by ideal sources;</li>
<li><b>tunnelling</b> (E_tunnel): energy dissipated by the tunnelling electrons (integral of I_FN V_ox),
the floor no driver can recover;</li>
<li><b>LIM bound</b> (E_bound): the learning-in-memory lower bound N (E0 + |dE|) for the same schedule
(Chakrabartty &amp; Cauwenberghs, ISCAS 2023, Eqs. 3&ndash;4), beside the Landauer reference.</li>
</ul>
<p>The deck <a href='netlist.cir'>netlist.cir</a> checks itself: run <code>ngspice -b netlist.cir</code> and
compare its <code>.meas</code> results (energy drawn and floating-gate step per update) with
<a href='updates.csv'>updates.csv</a>.</p>
"""

#: Compact per-update table: column -> (heading, formatter).
_COLUMNS: dict[str, tuple[str, Callable[[float], str]]] = {
    "n": ("n", lambda v: f"{int(v)}"),
    "t_s": ("t", lambda v: eng(v, "s", 5)),
    "N_target": ("N target", lambda v: f"{v:.4g}"),
    "N_sim": ("N simulated", lambda v: f"{v:.6g}"),
    "tracking_error": ("tracking error", sci),
    "V_p_V": ("pulse V_p", lambda v: eng(v, "V", 4)),
    "E_supply_J": ("drawn", lambda v: eng(v, "J")),
    "E_tunnel_J": ("tunnelling", lambda v: eng(v, "J")),
    "E_bound_J": ("LIM bound", lambda v: eng(v, "J")),
    "ratio_supply_to_bound": ("drawn / bound", sci),
}
HEAD_ROWS, TAIL_ROWS = 12, 6


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _rows(rows: list[tuple[str, ...]], head: tuple[str, ...] | None = None, cls: str = "") -> str:
    out = [f"<table class='{cls}'>" if cls else "<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows]
    return "\n".join(out + ["</table>"])


def update_table(updates: pd.DataFrame, csv_name: str = "updates.csv") -> str:
    """The compact per-update table (key columns, first and last rows) and a link to the full CSV."""
    cols = [c for c in _COLUMNS if c in updates.columns]
    n = len(updates)
    shown = updates if n <= HEAD_ROWS + TAIL_ROWS else None
    body = []

    def line(rec: pd.Series) -> str:
        return "<tr>" + "".join(f"<td>{_e(_COLUMNS[c][1](float(rec[c])))}</td>" for c in cols) + "</tr>"

    if shown is not None:
        body = [line(r) for _, r in updates.iterrows()]
    else:
        body = [line(r) for _, r in updates.head(HEAD_ROWS).iterrows()]
        body.append(f"<tr><td class='gap' colspan='{len(cols)}'>... {n - HEAD_ROWS - TAIL_ROWS} more updates "
                    f"in {_e(csv_name)} ...</td></tr>")
        body += [line(r) for _, r in updates.tail(TAIL_ROWS).iterrows()]
    head = "<tr>" + "".join(f"<th>{_e(_COLUMNS[c][0])}</th>" for c in cols) + "</tr>"
    note = (f"<p class='note'>Energies per programmed cell. The full table ({len(updates.columns)} columns, "
            f"{n} rows, SI units in the column names) is <a href='{_e(csv_name)}'>{_e(csv_name)}</a>.</p>")
    return "<table>\n" + head + "\n" + "\n".join(body) + "\n</table>\n" + note


def _option_text(key: str, value: Any) -> str:
    if key == "temp" and isinstance(value, (int, float)):
        return kelvin(value, from_celsius=True)
    units = {"abstol": "A", "vntol": "V", "chgtol": "C"}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return eng(value, units[key]) if key in units else sci(value)
    return str(value)


def _value_text(key: str, value: Any) -> str:
    """A summary value with its unit (from the key's suffix) and sensible digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    _, unit = split_unit(key)
    return eng(value, unit) if unit else sci(value)


def provenance_rows(prov: Mapping[str, Any], timing: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """What ran, where and how, as (label, text) rows (options in their units, temp in K)."""
    rows: list[tuple[str, str]] = []
    for key, label in (("lim_hw", "lim-hw"), ("python", "Python"), ("numpy", "numpy"), ("ngspice", "ngspice"),
                       ("platform", "platform")):
        if key in prov:
            rows.append((label, str(prov[key])))
    if prov.get("netlist_sha256"):
        rows.append(("netlist sha256", str(prov["netlist_sha256"])))
    if "simulation_wall_s" in prov:
        rows.append(("ngspice wall time", eng(prov["simulation_wall_s"], "s")))
    if "n_timepoints" in prov:
        rows.append(("time points", f"{int(prov['n_timepoints']):,}"))
    tran = prov.get("tran") or {}
    if tran:
        rows.append(("transient (.tran)", ", ".join(f"{k.replace('_s', '')} {eng(v, 's', 4)}" for k, v in tran.items())))
    opts = prov.get("options") or {}
    if opts:
        rows.append(("options", ", ".join(f"{k} {_option_text(k, v)}" for k, v in opts.items())))
    if prov.get("blocks"):
        rows.append(("column blocks", f"{len(prov['blocks'])} ngspice runs"))
    known = {"lim_hw", "python", "numpy", "ngspice", "platform", "netlist_sha256", "simulation_wall_s",
             "n_timepoints", "tran", "options", "blocks"}
    for key, value in prov.items():
        if key not in known:
            rows.append((key, json.dumps(value, default=str) if isinstance(value, (dict, list)) else
                         _value_text(key, value)))
    if timing:
        rows.append(("stage times", ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {eng(v, 's')}"
                                              for k, v in timing.items() if isinstance(v, (int, float)))))
    return rows


_SHOWN = {"card", "testbench", "engine", "n_updates", "provenance", "card_values", "timing_s"}


#: Summary keys -> what a designer calls them (others are shown by their key).
SUMMARY_LABELS = {"tracking_error_max_abs": "largest |tracking error| (|N_sim/N_target - 1|)",
                  "tracking_error_rms": "rms tracking error",
                  "retention_max_rel_error": "retention: largest relative deviation from the closed form",
                  "retention_V_ox_end_V": "retention: final oxide voltage",
                  "retention_V_ox_end_closed_form_V": "retention: final oxide voltage, closed form"}


def _other_numbers(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Scalar summary entries not in the breakdown (tracking error, checks added by other stages)."""
    used = {k for row in ("E_supply", "E_net", "E_tunnel", "E_bound") for k in
            (f"{row}_median_J", f"{row}_total_J")}
    used |= {"ratio_supply_to_bound_median", "ratio_net_to_bound_median", "ratio_tunnel_to_bound_median",
             "eta_recovery_median"}
    return [(SUMMARY_LABELS.get(k, k), _value_text(k, v)) for k, v in summary.items()
            if k not in _SHOWN | used and not isinstance(v, (dict, list))]


def _file_rows(out_dir: Path, files: list[str]) -> str:
    items = []
    for f in files:
        p = out_dir / f
        size = f" <span class='note'>({eng(p.stat().st_size, 'B')})</span>" if p.is_file() else ""
        items.append(f"<li><a href='{_e(f)}'>{_e(f)}</a>{size}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def write_report(out_dir: Path, title: str, summary: dict[str, Any], updates: pd.DataFrame,
                 images: dict[str, str], files: list[str], card_toml: str,
                 sections: list[tuple[str, str]] = ()) -> Path:
    """Write ``report.html`` in ``out_dir`` referencing only the given (existing) files.

    ``sections``: extra ``(title, html)`` sections after the figures (e.g. a technology comparison).
    """
    out_dir = Path(out_dir)
    for name in list(images.values()) + files:
        if not (out_dir / name).exists():
            raise FileNotFoundError(f"report would reference missing file {name}")
    sub = " · ".join(str(x) for x in (
        f"{summary.get('testbench', '')} testbench", f"{summary.get('engine', '')} engine",
        (summary.get("provenance") or {}).get("ngspice", ""), f"{summary.get('n_updates', 0)} updates") if x)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>", f"<p class='sub'>{_e(sub)}</p>",
             f"<p class='headline' id='headline'>{_e(headline(summary))}</p>"]
    rows = breakdown_rows(summary)
    if rows:
        parts += ["<h2>Energy per update</h2>",
                  _rows(rows, ("quantity", "median per update", f"total, {summary.get('n_updates')} updates",
                               "x LIM bound (median)"))]
    other = _other_numbers(summary)
    if other:
        parts += ["<h2>Tracking and checks</h2>", _rows(other, cls="kv")]
    if summary.get("bound"):   # what the bound means (summary.json "bound"; docs/theory.md s.10)
        parts.append("<h2>What the bound means</h2><p>" + _e(summary["bound"]["statement"]) + "</p>")
    for w in summary.get("warnings", []):
        parts.append(f"<p><b>Warning:</b> {_e(str(w))}</p>")
    for caption, name in images.items():
        parts.append(f"<figure><figcaption>{_e(caption)}</figcaption>"
                     f"<img src='{_e(name)}' alt='{_e(caption)}'></figure>")
    for caption, body in sections:
        parts.append(f"<h2>{_e(caption)}</h2>{body}")
    if not updates.empty:
        parts += ["<h2>Per update</h2>", update_table(updates)]
    parts += ["<h2>What was simulated</h2>", _EXPLAIN if "netlist.cir" in files else
              _EXPLAIN.split("<p>The deck")[0],
              "<h2>Files</h2>", _file_rows(out_dir, files),
              "<details><summary><b>Device card</b> (card.toml)</summary><pre>" + _e(card_toml) + "</pre></details>",
              "<h2>Provenance</h2>",
              _rows(provenance_rows(summary.get("provenance", {}), summary.get("timing_s")), cls="kv"),
              "</body></html>"]
    path = out_dir / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
