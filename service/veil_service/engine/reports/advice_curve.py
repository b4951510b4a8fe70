"""The privacy-utility curve the privacy-targeted advice explored (engine/privacy_advice.py).

One figure, k on the x axis: above, each attack risk of every parameter family tried (Octopize's
method, bounded weights with full or half local noise) against its target; below, the utility.
The chosen parameter set is circled, so that a reader sees what was traded for what.
"""

from __future__ import annotations

from typing import Any

from veil_service.engine.reports.html import new_figure, settle, to_svg

#: Risks drawn on the upper axes, with their labels.
RISKS = (
    ("singling_out", "singling-out"),
    ("linkability", "linkability"),
    ("inference", "inference (worst)"),
)
#: Line style per parameter family.
STYLES = {"octopize": "-", "noise 1": "--", "noise 0.5": ":"}


def family(parameters: dict[str, Any]) -> str:
    """Which family a trial belongs to: Octopize's method or the knobs at a noise level."""
    if not parameters.get("local_noise"):
        return "octopize"
    return f"noise {float(parameters['local_noise']):g}"


def advice_curve_svg(advice: dict[str, Any]) -> str:
    """SVG of the curve, from ``PrivacyAdvice.as_dict()``."""
    trials = advice["trials"]
    targets = advice["targets"]
    figure = new_figure(7.0, 5.2)
    risk_axes, utility_axes = figure.subplots(2, 1, sharex=True)
    colors = {name: f"C{i}" for i, (name, _) in enumerate(RISKS)}
    for name in STYLES:
        members = [t for t in trials if family(t["parameters"]) == name]
        if not members:
            continue
        ks = [t["parameters"]["k"] for t in members]
        for risk, label in RISKS:
            values = [t["measures"].get(risk) for t in members]
            risk_axes.plot(
                ks,
                [float("nan") if v is None else v for v in values],
                STYLES[name],
                marker="o",
                markersize=3,
                color=colors[risk],
                label=f"{label}, {name}",
            )
        utility_axes.plot(
            ks,
            [t["measures"].get("utility") for t in members],
            STYLES[name],
            marker="o",
            markersize=3,
            color="black",
            label=name,
        )
    for risk, _ in RISKS:
        risk_axes.axhline(targets[risk], color=colors[risk], linewidth=0.8, alpha=0.5)
    chosen = trials[advice["chosen_index"]]
    k = chosen["parameters"]["k"]
    for axes, key in ((utility_axes, "utility"),):
        axes.scatter(
            [k], [chosen["measures"][key]], s=140, facecolors="none", edgecolors="red", zorder=5
        )
    risk_axes.set_ylabel("attack risk (thin lines: targets)")
    risk_axes.legend(fontsize=6, ncol=3, loc="upper right")
    utility_axes.set_ylabel(
        "utility (avatar / real score)"
        if advice["utility_metric"] == "ml_utility_ratio"
        else "utility (shapes and pair trends)"
    )
    utility_axes.set_xlabel("k (neighbours)")
    utility_axes.legend(fontsize=7, loc="lower left")
    verdict = "meets every target" if advice["met"] else "closest to the targets"
    risk_axes.set_title(
        f"Privacy-utility curve ({advice['sample_rows']} sampled rows); circled: chosen, {verdict}",
        fontsize=9,
    )
    settle(figure)
    return to_svg(figure)
