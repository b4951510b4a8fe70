"""The plain-language reading of the results, shared by the technical and PIA reports.

A data protection officer should not have to decode "hidden_rate 93.2" alone. Each sentence
restates one metric as what an attacker would experience, using the value itself, and the
verdicts are counted the same way the tables mark them.
"""

from __future__ import annotations

from veil_service.engine.reports.catalog import MetricResult
from veil_service.engine.reports.i18n import Translator

#: Metrics restated in their own sentence when computed (key -> message key).
_SENTENCES = {
    "hidden_rate": "reading.hidden_rate",
    "local_cloaking": "reading.local_cloaking",
    "row_direct_match_protection": "reading.row_direct_match_protection",
    "correlation_protection_rate": "reading.correlation_protection_rate",
    "singling_out_risk": "reading.singling_out_risk",
    "linkability_risk": "reading.linkability_risk",
    "inference_risk": "reading.inference_risk",
    "correlation_difference_ratio": "reading.correlation_difference_ratio",
}
#: Hellinger mean below which distributions read as well preserved, and above which as poorly.
_HELLINGER_GOOD, _HELLINGER_POOR = 0.1, 0.25


def _names(rows: list[MetricResult], t: Translator) -> str:
    return ", ".join(t.metric_name(r.key) for r in rows)


def privacy_reading(rows: list[MetricResult], t: Translator) -> list[str]:
    """Sentences about the privacy metrics of one table."""
    judged = [r for r in rows if r.passed is not None]
    missing = [r for r in rows if r.value is None]
    failed = [r for r in judged if r.passed is False]
    if not judged:
        return [t("reading.privacy_none")]
    sentences = [t("reading.privacy_count", passed=len(judged) - len(failed), total=len(judged))]
    if failed:
        sentences.append(t("reading.privacy_failed", names=_names(failed, t)))
    else:
        sentences.append(t("reading.privacy_all_met"))
    sentences.extend(_metric_sentences(rows, t))
    if missing:
        sentences.append(t("reading.not_computed", names=_names(missing, t)))
    return sentences


def signal_reading(rows: list[MetricResult], t: Translator) -> list[str]:
    """Sentences about the signal (utility) metrics of one table."""
    by_key = {r.key: r for r in rows}
    hellinger = by_key.get("hellinger_mean")
    if hellinger is None or hellinger.value is None:
        return [t("reading.signal_none")]
    if hellinger.value < _HELLINGER_GOOD:
        quality = t("reading.quality_good")
    elif hellinger.value < _HELLINGER_POOR:
        quality = t("reading.quality_fair")
    else:
        quality = t("reading.quality_poor")
    sentences = [t("reading.hellinger", value=t.number(hellinger.value), quality=quality)]
    sentences.extend(_metric_sentences(rows, t))
    return sentences


def _metric_sentences(rows: list[MetricResult], t: Translator) -> list[str]:
    sentences = []
    for row in rows:
        key = _SENTENCES.get(row.key)
        if key is None or row.value is None:
            continue
        sentences.append(t(key, value=t.number(row.value)))
    return sentences
