"""A table's stored avatarization block parsed for the featured standard job (augmentation,
processors, pseudonyms, DP generators): every avatar-method setting the plain job honours
reaches the avatar method here too."""

from __future__ import annotations

import pytest
from veil_service.engine.release import parse_release
from veil_service.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_weight", 0.2),
        ("local_noise", 0.5),
        ("redraw_unique_copies", False),
        ("imputation_return_data_imputed", True),
    ],
)
def test_avatar_method_settings_survive_a_featured_run(key: str, value: object) -> None:
    params = parse_release({"k": 10, "data_augmentation_strategy": 2.0, key: value})
    assert params.avatar == {"k": 10, key: value}
    assert params.augmentation is not None


def test_an_unknown_key_is_still_refused_by_name() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"unknown avatarization parameter\(s\) \['kk'\]"
    ):
        parse_release({"k": 10, "kk": 3})
