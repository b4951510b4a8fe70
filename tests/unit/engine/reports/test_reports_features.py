"""Every avatarization feature's report section exists in English and in French (issue 15 item 7):
Open DP, Fast DP, data augmentation with its barycentre metrics, both server-side processors and
pseudonymization, each with its values in the language's sentences."""

from __future__ import annotations

import pytest
from veil_service.engine.reports.features import Section, TableFeatures, feature_sections
from veil_service.engine.reports.i18n import Translator

PROCESSORS = [
    {"target": "penalty_goals", "references": ["penalty_attempts"]},
    {"id_variable": "project_id", "target_start_variable": "start", "target_end_variable": "end"},
]
PSEUDONYMIZED = {
    "ssn": {"kind": "UUID4"},
    "city": {"kind": "HASH_SHA256"},
    "zip_code": {"kind": "SPECIFIC_ID", "pattern": "#####"},
}
AUGMENTATION = {
    "data_augmentation_strategy": "minority",
    "data_augmentation_target_column": "Class",
    "processors": PROCESSORS,
}
METRICS = {
    "barycentered": {"hidden_rate": 71.5, "distance_to_closest": 0.42},
    "class_balancing_barycenter": {"hidden_rate": 64.25, "distance_to_closest": 0.37},
}

HEADINGS = {
    "en": {
        "open_dp": "Differential privacy: Open DP",
        "fast_dp": "Fast DP (not end-to-end differential privacy)",
        "augmentation": "Data augmentation",
        "processors": "Server-side processors",
        "pseudo": "Pseudonymization",
    },
    "fr": {
        "open_dp": "Confidentialité différentielle : Open DP",
        "fast_dp": "Fast DP (pas de confidentialité différentielle de bout en bout)",
        "augmentation": "Augmentation de données",
        "processors": "Processeurs côté serveur",
        "pseudo": "Pseudonymisation",
    },
}


def _text(section: Section) -> str:
    return " ".join((section.heading, *section.sentences, *section.header)) + " ".join(
        " ".join(row) for row in section.rows
    )


def _sections(language: str) -> dict[str, Section]:
    t = Translator(language)
    open_dp = feature_sections(
        TableFeatures(
            generator="open_dp",
            parameters={"open_dp_epsilon": 1.0, "preprocess_budget_ratio": 0.3},
            privacy_loss={"epsilon": 0.9999, "delta": 1e-7, "accountant": "OpenDP compositor"},
            pseudonymized=PSEUDONYMIZED,
        ),
        t,
    )
    fast_dp = feature_sections(
        TableFeatures(
            generator="fast_dp",
            parameters={"fast_dp_epsilon": 5.0, "mechanism": "gmm", "bounds_percentile": 2.5},
            privacy_loss={"epsilon": 5.0, "delta": 0.0, "end_to_end": False},
        ),
        t,
    )
    avatar = feature_sections(
        TableFeatures(parameters=AUGMENTATION, augmentation_metrics=METRICS), t
    )
    keys = {v: k for k, v in HEADINGS[language].items()}
    return {keys[s.heading]: s for s in (*open_dp, *fast_dp, *avatar)}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_feature_has_its_section_with_its_values(language: str) -> None:
    sections = _sections(language)
    assert set(sections) == set(HEADINGS[language])
    assert "ε = 0.9999" in _text(sections["open_dp"]) and "1e-07" in _text(sections["open_dp"])
    assert "OpenDP compositor" in _text(sections["open_dp"])
    assert "gmm" in _text(sections["fast_dp"]) and "2.5" in _text(sections["fast_dp"])
    augmentation = _text(sections["augmentation"])
    assert "Class" in augmentation and "minority" in augmentation
    assert [row[1:] for row in sections["augmentation"].rows] == [
        ("71.5", "0.42"),
        ("64.25", "0.37"),
    ]
    assert [row[0] for row in sections["processors"].rows] == ["1", "2"]
    processors = _text(sections["processors"])
    assert "penalty_goals" in processors and "project_id" in processors
    assert sections["pseudo"].rows == (
        ("ssn", "UUID4", ""),
        ("city", "HASH_SHA256", ""),
        ("zip_code", "SPECIFIC_ID", "#####"),
    )
    # HMAC named because a HASH_SHA256 column is there; the DP generator's fresh pseudonyms said.
    assert "HMAC-SHA256" in _text(sections["pseudo"])


def test_french_sections_are_french_not_english_copies() -> None:
    english, french = _sections("en"), _sections("fr")
    for name, section in english.items():
        assert french[name].heading != section.heading or name == "fast_dp"
        assert set(french[name].sentences).isdisjoint(section.sentences), name
    assert "PAS une méthode différentiellement privée" in _text(french["fast_dp"])
    assert "NOT an end-to-end differentially private method" in _text(english["fast_dp"])
