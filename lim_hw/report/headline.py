"""The headline of a run in words and its energy breakdown, for the terminal and report.html alike."""

from __future__ import annotations

from typing import Any, Mapping

from .units import eng, sci

#: (label, summary key of the median per update, key of the total, key of the median ratio to the bound)
BREAKDOWN = (
    ("drawn from the supplies (no recovery)", "E_supply_median_J", "E_supply_total_J", "ratio_supply_to_bound_median"),
    ("net, with perfect recovery", "E_net_median_J", "E_net_total_J", "ratio_net_to_bound_median"),
    ("tunnelling dissipation (the floor)", "E_tunnel_median_J", "E_tunnel_total_J", "ratio_tunnel_to_bound_median"),
    ("LIM bound N (E0 + |dE|)", "E_bound_median_J", "E_bound_total_J", None),
)


def _num(summary: Mapping[str, Any], key: str | None) -> float | None:
    v = summary.get(key) if key else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def headline(summary: Mapping[str, Any]) -> str:
    """One or two sentences: how far the drawn energy is from the LIM bound, the floor, the tracking."""
    if _num(summary, "E_supply_median_J") is not None and summary.get("n_updates"):
        ratio = _num(summary, "ratio_supply_to_bound_median")
        text = (f"Drawn energy is {sci(ratio)} times the LIM bound: {eng(_num(summary, 'E_supply_median_J'), 'J')} "
                f"per update against {eng(_num(summary, 'E_bound_median_J'), 'J')} (medians over "
                f"{summary['n_updates']} updates). Tunnelling alone dissipates "
                f"{eng(_num(summary, 'E_tunnel_median_J'), 'J')}, {sci(_num(summary, 'ratio_tunnel_to_bound_median'))} "
                "times the bound.")
        err = _num(summary, "tracking_error_max_abs")
        if err is not None:
            text += f" The schedule is tracked to {sci(err)} (largest |N_sim/N_target - 1|)."
        return text
    if _num(summary, "retention_max_rel_error") is not None:
        return (f"Retention run: the oxide voltage ends at {eng(_num(summary, 'retention_V_ox_end_V'), 'V', 6)} "
                f"(closed form {eng(_num(summary, 'retention_V_ox_end_closed_form_V'), 'V', 6)}); the largest "
                f"relative deviation from the closed form is {sci(_num(summary, 'retention_max_rel_error'))}.")
    return "No updates were simulated."


def breakdown_rows(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(quantity, median per update, total, median ratio to the bound)`` as formatted text."""
    rows = []
    for label, med, tot, ratio in BREAKDOWN:
        if _num(summary, med) is None:
            continue
        rows.append((label, eng(_num(summary, med), "J"), eng(_num(summary, tot), "J"),
                     sci(_num(summary, ratio)) if ratio else "1"))
    eta = _num(summary, "eta_recovery_median")
    if eta is not None and rows:
        rows.insert(2, ("recoverable share of the drawn energy", f"{100 * eta:.1f} %", "", ""))
    return rows
