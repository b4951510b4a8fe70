"""The report sections of the avatarization features a table used: Open DP (with the privacy
loss OpenDP computed), Fast DP (stated plainly: not end-to-end differentially private), data
augmentation (with its barycentre metrics), server-side processors, pseudonymization, a named
target column decoded without the local noise (and what that costs), and the
privacy-targeted parameter search of the table's advice (what it tried, the binding target, the
privacy-utility curve).

Each section is a heading, sentences and optional rows, already translated, so the technical
PDF and the PIA DOCX lay out the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from veil_service.engine.avatarize.parameters import (
    DEFAULT_LOCAL_NOISE,
    DEFAULT_MAX_WEIGHT_SHARES,
)
from veil_service.engine.reports.i18n import Translator
from veil_service.engine_contract.privacy_targets import UTILITY_TARGET


@dataclass(frozen=True)
class TableFeatures:
    """What the standard job did to one table besides the avatar method.

    Attributes:
        generator: ``avatar``, ``open_dp`` or ``fast_dp``.
        parameters: The table's avatarization parameters (Octopize names).
        privacy_loss: For DP generators: ``epsilon``, ``delta``, ``end_to_end``, ``accountant``.
        pseudonymized: Column -> strategy field map.
        augmentation_metrics: Computation type -> privacy metrics dict, for the barycentre
            computations of an augmented table.
        privacy_search: The table's privacy-targeted advice (``PrivacyAdvice.as_dict()`` of
            engine/privacy_advice.py), when the run's advice job searched parameters.
    """

    generator: str = "avatar"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    privacy_loss: Mapping[str, Any] | None = None
    pseudonymized: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    augmentation_metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    privacy_search: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Section:
    """One feature section, translated.

    Attributes:
        heading: Section heading.
        sentences: Paragraphs, in order.
        header: Column headers of ``rows`` (empty: no table).
        rows: Table rows.
        image: A figure (PNG) after the rows, with its caption.
        caption: The figure's caption.
        widths: Relative widths of the table's columns (empty: even).
    """

    heading: str
    sentences: tuple[str, ...]
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    image: bytes | None = None
    caption: str = ""
    widths: tuple[float, ...] = ()

    def column_widths(self, total: float) -> list[float]:
        """Each column's width out of ``total`` (any unit)."""
        weights = self.widths or (1.0,) * len(self.header)
        return [total * w / sum(weights) for w in weights]


def _number(value: Any) -> str:
    return f"{float(value):.4g}"


def feature_sections(features: TableFeatures | None, t: Translator) -> list[Section]:
    """The sections of one table, in pipeline order (advice's search, named target column,
    generator, augmentation, processors, pseudonymization); none for a plain avatarization
    without a search or a named target column."""
    if features is None:
        return []
    sections: list[Section] = []
    if features.privacy_search:
        sections.append(_privacy_search(features.privacy_search, features.parameters, t))
    p = features.parameters
    loss = features.privacy_loss or {}
    if features.generator == "avatar" and p.get("target_column"):
        column = str(p["target_column"])
        sentences = [
            t("feat.target.what", column=column),
            t("feat.target.risk", column=column),
        ]
        sections.append(Section(t("feat.target.heading"), tuple(sentences)))
    if features.generator == "open_dp":
        epsilon = _number(loss.get("epsilon", p.get("open_dp_epsilon")))
        delta = f"{float(loss.get('delta', 0.0)):.3g}"
        sentences = [
            t("feat.open_dp.what"),
            t("feat.open_dp.loss", epsilon=epsilon, delta=delta),
            t("feat.open_dp.split", ratio=_number(p.get("preprocess_budget_ratio", 0.3))),
            t("feat.open_dp.public"),
        ]
        if loss.get("accountant"):
            sentences.append(t("feat.accountant", accountant=str(loss["accountant"])))
        sections.append(Section(t("feat.open_dp.heading"), tuple(sentences)))
    elif features.generator == "fast_dp":
        epsilon = _number(loss.get("epsilon", p.get("fast_dp_epsilon")))
        sentences = [
            t("feat.fast_dp.not_dp"),
            t(
                "feat.fast_dp.what",
                mechanism=str(p.get("mechanism", "gaussian")),
                epsilon=epsilon,
            ),
            t("feat.fast_dp.bounds", percentile=_number(p.get("bounds_percentile", 5.0))),
        ]
        sections.append(Section(t("feat.fast_dp.heading"), tuple(sentences)))
    strategy = p.get("data_augmentation_strategy")
    if strategy is not None:
        sections.append(_augmentation(features, strategy, t))
    processors: Sequence[Mapping[str, Any]] = p.get("processors") or ()
    if processors:
        rows = tuple(
            (
                str(position + 1),
                t(
                    "feat.processors.relative",
                    target=entry["target"],
                    references=", ".join(entry.get("references") or []),
                )
                if "target" in entry
                else t(
                    "feat.processors.inter_record",
                    id=entry["id_variable"],
                    start=entry["target_start_variable"],
                    end=entry["target_end_variable"],
                ),
            )
            for position, entry in enumerate(processors)
        )
        sections.append(
            Section(
                t("feat.processors.heading"),
                (t("feat.processors.what"),),
                (t("feat.processors.order"), t("feat.processors.keeps")),
                rows,
            )
        )
    if features.pseudonymized:
        identifiers = tuple(
            (
                column,
                str(spec.get("kind", "")),
                str(spec.get("pii_type") or spec.get("pattern") or ""),
            )
            for column, spec in features.pseudonymized.items()
        )
        sentences = [t("feat.pseudo.what"), t("feat.pseudo.mapping")]
        if any(spec.get("kind") == "HASH_SHA256" for spec in features.pseudonymized.values()):
            sentences.append(t("feat.pseudo.hash"))
        if features.generator != "avatar":
            sentences.append(t("feat.pseudo.dp"))
        sections.append(
            Section(
                t("feat.pseudo.heading"),
                tuple(sentences),
                (t("feat.pseudo.column"), t("feat.pseudo.kind"), t("feat.pseudo.detail")),
                identifiers,
            )
        )
    return sections


def _augmentation(features: TableFeatures, strategy: Any, t: Translator) -> Section:
    p = features.parameters
    if isinstance(strategy, int | float) and not isinstance(strategy, bool):
        described = t("feat.augmentation.multiplier", factor=_number(strategy))
    elif isinstance(strategy, Mapping):
        shares = ", ".join(f"{k}: {_number(v)}" for k, v in strategy.items())
        described = t("feat.augmentation.shares", shares=shares)
    else:
        described = t(f"feat.augmentation.{strategy}")
    sentences = [described]
    if p.get("data_augmentation_target_column"):
        sentences.append(
            t("feat.augmentation.target", column=str(p["data_augmentation_target_column"]))
        )
    sentences.append(
        t("feat.augmentation.dp") if features.generator != "avatar" else t("feat.augmentation.how")
    )
    if p.get("data_augmentation_should_anonymize_original_table") is False:
        sentences.append(t("feat.augmentation.sensitive"))
    rows = tuple(
        (
            t(f"feat.augmentation.{kind}"),
            _number(metrics.get("hidden_rate")) if metrics.get("hidden_rate") is not None else "-",
            _number(metrics.get("distance_to_closest"))
            if metrics.get("distance_to_closest") is not None
            else "-",
        )
        for kind, metrics in features.augmentation_metrics.items()
    )
    header = (
        (t("feat.augmentation.computation"), "hidden_rate", "distance_to_closest") if rows else ()
    )
    if rows:
        sentences.append(t("feat.augmentation.metrics"))
    return Section(t("feat.augmentation.heading"), tuple(sentences), header, rows)


#: The search's knobs, with the value a run gets when it leaves one unset (k: none).
_SEARCHED = ("k", "ncp", "max_weight", "local_noise", "redraw_unique_copies", "coupled_noise")


def _effective(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The searched parameters as the avatarization applies them (defaults filled in)."""
    k = parameters.get("k")
    max_weight = parameters.get("max_weight")
    if max_weight is None and isinstance(k, int):
        max_weight = min(1.0, DEFAULT_MAX_WEIGHT_SHARES / k)
    return {
        "k": k,
        "ncp": parameters.get("ncp", 5),
        "max_weight": None if max_weight is None else round(float(max_weight), 6),
        "local_noise": float(parameters.get("local_noise", DEFAULT_LOCAL_NOISE)),
        "redraw_unique_copies": bool(parameters.get("redraw_unique_copies", True)),
        "coupled_noise": bool(parameters.get("coupled_noise", False)),
    }


def _knobs(parameters: Mapping[str, Any], t: Translator) -> str:
    """``k = 10, ncp = 5, max_weight = 0.2, local_noise = 1`` in the report's number format."""
    values = _effective(parameters)
    return ", ".join(
        f"{name} = {_plain(values[name], t)}" for name in _SEARCHED if values[name] is not None
    )


def _plain(value: Any, t: Translator) -> str:
    if isinstance(value, bool):
        return t("search.yes") if value else t("search.no")
    if isinstance(value, float):
        return t.number(value)
    return str(value)


def _unmeasured(search: Mapping[str, Any], chosen: Mapping[str, Any], t: Translator) -> str:
    """The sentence naming the secrets too rare in the control for the advice to measure their
    inference, with the chosen set's risk and interval ('' when there are none)."""
    unmeasured: Mapping[str, int] = chosen.get("unmeasured_secrets") or {}
    if not unmeasured:
        return ""
    risks: Mapping[str, float | None] = chosen.get("inference_by_secret") or {}
    intervals: Mapping[str, Sequence[float | None]] = chosen.get("inference_intervals") or {}
    figures = "; ".join(
        f"{name} {t.number(risks.get(name))} "
        f"[{t.number(intervals.get(name, (None, None))[0])}, "
        f"{t.number(intervals.get(name, (None, None))[1])}]"
        for name in unmeasured
    )
    key = "search.unmeasured_all" if len(unmeasured) >= len(risks) else "search.unmeasured"
    return t(
        key,
        secrets=", ".join(unmeasured),
        rows=int(search.get("min_minority_rows", 0)),
        figures=figures,
    )


def _table_check(check: Mapping[str, Any], search: Mapping[str, Any], t: Translator) -> str:
    """The sentence of the advice's check on the table: where, at which k, each target's
    figure, and the targets it misses."""
    rows = int(check["rows"])
    table_rows = int(search.get("table_rows") or rows)
    where = (
        t("search.table_check.whole")
        if rows >= table_rows
        else t("search.table_check.draw", rows=rows)
    )
    measures: Mapping[str, float | None] = check["measures"]
    figures = ", ".join(
        f"{t(f'search.target.{name}')} {t.number(measures[name])}"
        + (" %" if name == "hidden_rate" else "")
        for name in search["targets"]
        if measures.get(name) is not None
    )
    failed = list(check["failed"])
    common = {
        "where": where,
        "train": int(check["train_rows"]),
        "k": int(check["parameters"]["k"]),
        "figures": figures,
    }
    if not failed:
        return t("search.table_check_met", **common)
    missed = ", ".join(t(f"search.target.{name}") for name in failed)
    return t("search.table_check_missed", missed=missed, **common)


def _privacy_search(
    search: Mapping[str, Any], run_parameters: Mapping[str, Any], t: Translator
) -> Section:
    """What the advice tried, what it chose and why, and whether this run used it."""
    from veil_service.engine.reports.advice_curve import advice_curve_png, family, family_label

    trials: Sequence[Mapping[str, Any]] = search["trials"]
    chosen = trials[search["chosen_index"]]
    utility = t(f"search.utility.{search['utility_metric']}")
    sentences = [
        t("search.what", count=len(trials), rows=search["sample_rows"], utility=utility),
    ]
    if int(search.get("splits", 1)) > 1:
        sentences.append(t("search.splits", splits=int(search["splits"])))
    parameters = _knobs(chosen["parameters"], t)
    if search["met"]:
        binding = search.get("binding")
        sentences.append(
            t("search.met", parameters=parameters, binding=t(f"search.target.{binding}"))
            if binding
            else t("search.met_unbound", parameters=parameters)
        )
    elif list(chosen["failed"]) == [UTILITY_TARGET]:  # privacy met, utility kept second
        sentences.append(
            t(
                "search.private",
                parameters=parameters,
                loss=t.number(float(chosen["measures"][UTILITY_TARGET])),
                target=t.number(float(search["targets"][UTILITY_TARGET])),
            )
        )
    else:
        missed = ", ".join(t(f"search.target.{name}") for name in chosen["failed"])
        sentences.append(t("search.missed", parameters=parameters, missed=missed))
    unmeasured = _unmeasured(search, chosen, t)
    if unmeasured:
        sentences.append(unmeasured)
    advised = chosen["parameters"]
    if search.get("sample_k") is not None:  # the table is larger than the sample: k grew
        advised = search["parameters"]
        sentences.append(
            t(
                "search.k_grown",
                sample_k=int(search["sample_k"]),
                k=int(advised["k"]),
                rows=int(search["table_rows"]),
            )
        )
    check = search.get("table_check")
    if check is not None:
        sentences.append(_table_check(check, search, t))
    if _effective(run_parameters) == _effective(advised):
        sentences.append(t("search.run_used"))
    else:
        sentences.append(t("search.run_other", parameters=_knobs(run_parameters, t)))
    sentences.append(t("search.sample_note"))
    header = (
        "k",
        t("search.column.family"),
        t("search.column.singling_out"),
        t("search.column.linkability"),
        t("search.column.inference"),
        t("search.column.distance_ratio"),
        t("search.column.utility"),
        t("common.result"),
    )
    rows = []
    for position, trial in enumerate(trials):
        m = trial["measures"]
        verdict = (
            t(
                "search.result.missed",
                missed=", ".join(t(f"search.target.{name}") for name in trial["failed"]),
            )
            if trial["failed"]
            else "✓"
        )
        if position == search["chosen_index"]:
            verdict = f"{t('search.result.chosen')}: {verdict}"
        rows.append(
            (
                str(trial["parameters"]["k"]),
                family_label(family(trial["parameters"]), t),
                *(
                    t.number(m.get(name))
                    for name in (
                        "singling_out",
                        "linkability",
                        "inference",
                        "distance_ratio",
                        "utility",
                    )
                ),
                verdict,
            )
        )
    return Section(
        t("search.heading"),
        tuple(sentences),
        header,
        tuple(rows),
        image=advice_curve_png(search, t),
        caption=t("search.caption"),
        widths=(0.7, 2.2, 1.5, 1.5, 1.5, 1.5, 1.2, 3.0),
    )
