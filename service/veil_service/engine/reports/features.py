"""The report sections of the avatarization features a table used: Open DP (with the privacy
loss OpenDP computed), Fast DP (stated plainly: not end-to-end differentially private), data
augmentation (with its barycentre metrics), server-side processors and pseudonymization.

Each section is a heading, sentences and optional rows, already translated, so the technical
PDF and the PIA DOCX lay out the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from veil_service.engine.reports.i18n import Translator


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
    """

    generator: str = "avatar"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    privacy_loss: Mapping[str, Any] | None = None
    pseudonymized: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    augmentation_metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    """One feature section, translated.

    Attributes:
        heading: Section heading.
        sentences: Paragraphs, in order.
        header: Column headers of ``rows`` (empty: no table).
        rows: Table rows.
    """

    heading: str
    sentences: tuple[str, ...]
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _number(value: Any) -> str:
    return f"{float(value):.4g}"


def feature_sections(features: TableFeatures | None, t: Translator) -> list[Section]:
    """The sections of one table, in pipeline order (generator, augmentation, processors,
    pseudonymization); none for a plain avatarization."""
    if features is None:
        return []
    sections: list[Section] = []
    p = features.parameters
    loss = features.privacy_loss or {}
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
