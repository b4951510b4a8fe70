"""Targets, pass/fail and the PIA's residual-risk rules."""

from __future__ import annotations

import pytest
from veil_service.engine.reports import PiaContext, Target, evaluate_metrics, targets_for_context
from veil_service.engine.reports.catalog import SPECS, format_number
from veil_service.engine.reports.risk import (
    assess_attacks,
    conclude,
    likelihood_level,
    requirement_tier,
)


def test_target_parsing() -> None:
    assert Target.parse("> 90", higher_is_better=True) == Target(">", 90.0)
    assert Target.parse("<0.1", higher_is_better=True) == Target("<", 0.1)
    assert Target.parse(">= 5 %", higher_is_better=False) == Target(">=", 5.0)
    assert Target.parse(10, higher_is_better=False) == Target("<", 10.0)
    assert Target.parse("about ten", higher_is_better=True) is None
    assert Target.parse(None, higher_is_better=True) is None


def test_evaluation_marks_missing_and_uses_the_dicts_own_targets() -> None:
    rows = {
        r.key: r
        for r in evaluate_metrics(
            {
                "hidden_rate": 85.0,
                "targets": {"hidden_rate": "> 80"},
                "extra_score": 3,
                "metadata": {"table_name": "t"},
            },
            "privacy",
        )
    }
    assert rows["hidden_rate"].passed is True  # the dict's "> 80", not the catalog's "> 90"
    assert rows["local_cloaking"].value is None and rows["local_cloaking"].passed is None
    assert rows["extra_score"].target is None  # unknown metrics are listed, not judged
    assert "metadata" not in rows


def test_nan_reads_as_not_computed() -> None:
    row = next(r for r in evaluate_metrics({"hidden_rate": float("nan")}, "privacy"))
    assert row.value is None


def test_unset_context_is_strict_and_keeps_the_official_targets() -> None:
    pia = PiaContext()
    assert pia.is_unset and requirement_tier(pia) == "strict"
    assert targets_for_context(pia)["hidden_rate"] == SPECS["hidden_rate"].target
    assert likelihood_level(pia) == 3


def test_contained_context_relaxes_targets() -> None:
    pia = PiaContext(sensitivity_level="Low", data_recipient="internal")
    assert requirement_tier(pia) == "light"
    assert targets_for_context(pia)["hidden_rate"] == Target(">", 80.0)
    # Health data is never "light", even internally.
    assert (
        requirement_tier(
            PiaContext(sensitivity_level="Low", data_type="health", data_recipient="internal")
        )
        == "standard"
    )


def test_residual_risk_per_attack() -> None:
    privacy = {"hidden_rate": 95.0, "local_cloaking": 2.0, "correlation_protection_rate": 99.0}
    strict = {a.attack: a for a in assess_attacks(privacy, PiaContext())}
    assert strict["singling_out"].technical == "moderate"
    assert strict["singling_out"].residual == 2 and not strict["singling_out"].acceptable
    assert strict["linkability"].technical == "low" and strict["linkability"].acceptable
    assert strict["inference"].technical == "not_assessed" and not strict["inference"].acceptable
    assert strict["inference"].residual is None
    assert conclude(list(strict.values())) == "incompatible"
    internal = PiaContext(sensitivity_level="Low", data_recipient="internal")
    light = {a.attack: a for a in assess_attacks(privacy, internal)}
    # Local cloaking 2 still misses the light "> 2", but the data stays internal (likelihood
    # limited), so one miss leaves a limited, acceptable residual risk.
    assert light["singling_out"].results[1].target == Target(">", 2.0)
    assert light["singling_out"].technical == "moderate"
    assert light["singling_out"].residual == 1 and light["singling_out"].acceptable
    assert conclude(list(light.values())) == "incomplete"  # inference was not computed


def test_invalid_pia_value_is_rejected() -> None:
    with pytest.raises(ValueError, match="data_recipient='public'"):
        PiaContext(data_recipient="public")


def test_number_format() -> None:
    assert format_number(93.2, "en") == "93.2"
    assert format_number(24.0, "en") == "24"
    assert format_number(0.0523, "fr") == "0,0523"
    assert format_number(7.3861, "en") == "7.39"
    assert format_number(0.13456, "en") == "0.135"
    assert format_number(0.0, "en") == "0"
    assert format_number(32561.0, "en") == "32,561"
