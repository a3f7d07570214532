"""A self-explanatory HTML report tying a run's tables and plots together."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

_EXPLAIN = """
<p>This run simulated an FN-DAM (Fowler&ndash;Nordheim dynamic analog memory) design in ngspice
under a learning-rate schedule. For every weight update the control gate was pulsed with an
amplitude synthesised from the schedule (<code>synthesis.csv</code>) so that the pulse moves
<i>N_target</i> electrons through the tunnelling junction on top of the natural decay.
The waveforms were split into update windows and the energy of each update was integrated:</p>
<ul>
<li><b>E_supply</b>: energy drawn from all sources, counting only delivered power (a driver that
cannot recover energy);</li>
<li><b>E_net</b>: net energy with perfect recovery by ideal sources;</li>
<li><b>E_tunnel</b>: energy dissipated by the tunnelling electrons (integral of I_FN V_ox), the floor no
driver can recover;</li>
<li><b>E_bound</b>: the learning-in-memory lower bound N (E0 + |dE|) for the same schedule
(Chakrabartty &amp; Cauwenberghs, ISCAS 2023, Eqs. 3&ndash;4), and the Landauer reference.</li>
</ul>
"""


def _table(df: pd.DataFrame, max_rows: int = 60) -> str:
    return df.head(max_rows).to_html(index=False, float_format=lambda x: f"{x:.4g}", border=0,
                                     classes="t")


def write_report(out_dir: Path, title: str, summary: dict[str, Any], updates: pd.DataFrame,
                 images: dict[str, str], files: list[str], card_toml: str) -> Path:
    """Write ``report.html`` in ``out_dir`` referencing only the given (existing) files."""
    for name in list(images.values()) + files:
        if not (out_dir / name).exists():
            raise FileNotFoundError(f"report would reference missing file {name}")
    head = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
             "table.t{border-collapse:collapse;font-size:12px}table.t td,table.t th"
             "{padding:2px 6px;border-bottom:1px solid #ddd;text-align:right}"
             "img{max-width:100%}pre{background:#f6f6f6;padding:8px;font-size:12px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", _EXPLAIN, "<h2>Headline</h2>",
             _table(pd.DataFrame({"quantity": list(head), "value": [str(v) for v in head.values()]}))]
    if summary.get("bound"):   # what the bound means (summary.json "bound"; docs/theory.md s.10)
        parts.append("<h2>What the bound means</h2><p>" + html.escape(summary["bound"]["statement"]) + "</p>")
    for w in summary.get("warnings", []):
        parts.append(f"<p><b>Warning:</b> {html.escape(str(w))}</p>")
    for caption, name in images.items():
        parts.append(f"<h2>{html.escape(caption)}</h2><img src='{html.escape(name)}' alt='{html.escape(caption)}'>")
    if not updates.empty:
        parts += ["<h2>Per-update table</h2>", _table(updates)]
    parts.append("<h2>Files</h2><ul>" + "".join(
        f"<li><a href='{html.escape(f)}'>{html.escape(f)}</a></li>" for f in files) + "</ul>")
    parts.append("<h2>Device card</h2><pre>" + html.escape(card_toml) + "</pre>")
    parts.append("<h2>Provenance</h2><pre>" + html.escape(json.dumps(summary.get("provenance", {}), indent=2))
                 + "</pre></body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
