"""The privacy-utility curve the privacy-targeted advice explored (engine/privacy_advice.py).

One figure, k on the x axis: above, each attack risk of every parameter family tried (Octopize's
method, bounded weights with full or half local noise, and with coupled noise) against its
target; below, the utility, with the utility target (dotted) when a column's prediction
measures it. The chosen parameter set is circled, so that a reader sees what was traded for
what. The same figure goes with the advice result (SVG) and into the reports (PNG), in the
report's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D

from veil_service.engine.reports.html import new_figure, settle, style, to_png, to_svg
from veil_service.engine.reports.i18n import Translator
from veil_service.engine_contract.privacy_targets import UTILITY_TARGET

#: Risks drawn on the upper axes.
RISKS = ("singling_out", "linkability", "inference")
#: Line style per parameter family.
STYLES: dict[str, Any] = {
    "octopize": "-",
    "noise 1": "--",
    "noise 0.5": ":",
    "coupled 1": (0, (5, 1, 1, 1)),
}


def family(parameters: Mapping[str, Any]) -> str:
    """Which family a trial belongs to: Octopize's method or the knobs at a noise level
    (``coupled`` when the noise is coupled across variables)."""
    if not parameters.get("local_noise"):
        return "octopize"
    kind = "coupled" if parameters.get("coupled_noise") else "noise"
    return f"{kind} {float(parameters['local_noise']):g}"


def family_label(name: str, t: Translator) -> str:
    """A family's name in the report's language."""
    if name == "octopize":
        return t("search.family.octopize")
    kind, noise = name.split()
    key = "search.family.coupled" if kind == "coupled" else "search.family.noise"
    return t(key, noise=t.number(float(noise)))


def _curve(advice: Mapping[str, Any], t: Translator) -> MplFigure:
    trials = advice["trials"]
    targets = advice["targets"]
    figure = new_figure(7.0, 5.6)
    risk_axes, utility_axes = figure.subplots(2, 1, sharex=True)
    colors = {name: f"C{i}" for i, name in enumerate(RISKS)}
    names = list(STYLES) + sorted({family(trial["parameters"]) for trial in trials} - set(STYLES))
    for name in names:
        members = [trial for trial in trials if family(trial["parameters"]) == name]
        if not members:
            continue
        line = STYLES.get(name, "-.")  # any other noise level a caller tried
        ks = [trial["parameters"]["k"] for trial in members]
        for risk in RISKS:
            values = [trial["measures"].get(risk) for trial in members]
            risk_axes.plot(
                ks,
                [float("nan") if v is None else v for v in values],
                linestyle=line,
                marker="o",
                markersize=3,
                color=colors[risk],
            )
        utility_axes.plot(
            ks,
            [trial["measures"].get("utility") for trial in members],
            linestyle=line,
            marker="o",
            markersize=3,
            color="black",
            label=family_label(name, t),
        )
    for risk in RISKS:
        risk_axes.axhline(targets[risk], color=colors[risk], linewidth=0.8, alpha=0.5)
    threshold = _utility_threshold(trials, targets)
    if threshold is not None:
        utility_axes.axhline(
            threshold,
            color="black",
            linewidth=0.8,
            linestyle=(0, (1, 2)),
            alpha=0.6,
            label=t("search.curve.utility_target"),
        )
    # One colour per risk (the line styles are the families, named in the lower legend).
    risk_axes.legend(
        handles=[Line2D([], [], color=colors[r], label=t(f"search.target.{r}")) for r in RISKS],
        fontsize=7,
        loc="best",
    )
    chosen = trials[advice["chosen_index"]]
    utility_axes.scatter(
        [chosen["parameters"]["k"]],
        [chosen["measures"]["utility"]],
        s=140,
        facecolors="none",
        edgecolors="red",
        zorder=5,
    )
    risk_axes.set_ylabel(t("search.curve.risk_axis"))
    utility_axes.set_ylabel(
        t("search.curve.utility_ratio")
        if advice["utility_metric"] == "ml_utility_ratio"
        else t("search.curve.utility_shapes")
    )
    utility_axes.set_xlabel(t("search.curve.k_axis"))
    utility_axes.legend(fontsize=7, loc="best")
    if advice["met"]:
        verdict = t("search.curve.met")
    elif list(chosen["failed"]) == [UTILITY_TARGET]:
        verdict = t("search.curve.private")
    else:
        verdict = t("search.curve.closest")
    risk_axes.set_title(
        t("search.curve.title", rows=advice["sample_rows"], verdict=verdict), fontsize=9
    )
    settle(figure)
    return figure


def _utility_threshold(
    trials: Sequence[Mapping[str, Any]], targets: Mapping[str, float]
) -> float | None:
    """The utility ratio at which a model loses exactly the utility target (1 - target / real
    score), when the trials measured a model's score; None otherwise. Every trial's model on
    real rows is the same (same splits and seeds), so their mean real score is taken."""
    reals = [trial["measures"].get("utility_real") for trial in trials]
    known = [float(r) for r in reals if r is not None and r > 0]
    if not known or targets.get(UTILITY_TARGET) is None:
        return None
    return 1.0 - float(targets[UTILITY_TARGET]) / (sum(known) / len(known))


def advice_curve_svg(advice: Mapping[str, Any], language: str = "en") -> str:
    """SVG of the curve, from ``PrivacyAdvice.as_dict()``."""
    with style():
        return to_svg(_curve(advice, Translator(language)))


def advice_curve_png(advice: Mapping[str, Any], t: Translator) -> bytes:
    """PNG of the curve for the reports, in the translator's language."""
    with style():
        return to_png(_curve(advice, t))
