"""One table defines the metrics: targets, report rows, docs and labels all follow it."""

from __future__ import annotations

import re
from pathlib import Path

from veil_service.engine.metrics import PRIVACY_TARGETS, SIGNAL_TARGETS
from veil_service.engine.metrics.definitions import METRICS
from veil_service.engine.reports import CATALOG
from veil_service.engine.reports.i18n import CATALOGS

DOCS = Path(__file__).resolve().parents[4] / "docs" / "metrics.md"


def test_octopize_targets_are_octopizes() -> None:
    # reference/avatar_method.md sections 2 and 3 (PrivacyMetricsTargets, SignalMetricsTargets).
    assert PRIVACY_TARGETS["hidden_rate"] == "> 90"
    assert PRIVACY_TARGETS["local_cloaking"] == "> 5"
    assert PRIVACY_TARGETS["distance_to_closest"] == "> 0.2"
    assert PRIVACY_TARGETS["closest_distances_ratio"] == "> 0.3"
    assert PRIVACY_TARGETS["column_direct_match_protection"] == "> 50"
    assert PRIVACY_TARGETS["row_direct_match_protection"] == "> 90"
    assert PRIVACY_TARGETS["correlation_protection_rate"] == "> 95"
    assert SIGNAL_TARGETS["hellinger_mean"] == "< 0.1"
    assert SIGNAL_TARGETS["correlation_difference_ratio"] == "< 10"


def test_the_judged_targets_and_the_report_rows_come_from_the_one_table() -> None:
    for family, targets in (("privacy", PRIVACY_TARGETS), ("signal", SIGNAL_TARGETS)):
        expected = {m.key: m.target for m in METRICS if m.family == family and m.target}
        assert targets == expected
    assert [spec.key for spec in CATALOG] == [m.key for m in METRICS]
    for spec, metric in zip(CATALOG, METRICS, strict=True):
        shown = None if spec.target is None else f"{spec.target.op} {spec.target.threshold:g}"
        assert shown == metric.target
        assert (spec.family, spec.attack, spec.unit) == (metric.family, metric.attack, metric.unit)


def test_every_metric_is_explained_and_labelled_in_every_language() -> None:
    docs = DOCS.read_text()
    for metric in METRICS:
        assert re.search(rf"\b{metric.key}\b", docs), f"{metric.key} is not in docs/metrics.md"
        for language, messages in CATALOGS.items():
            for kind in ("metric", "desc"):
                assert f"{kind}.{metric.key}" in messages, f"{kind}.{metric.key} ({language})"
