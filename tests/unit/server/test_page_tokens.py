"""Page tokens are opaque offsets: a forged one is a clear INVALID_ARGUMENT, never a database
error."""

from __future__ import annotations

import base64

import pytest
from veil_service.api.paging import MAX_OFFSET, next_token, page_bounds
from veil_service.errors import InvalidArgumentError


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_a_token_round_trips_its_offset() -> None:
    token = next_token(100, 50, 50)
    assert page_bounds(50, token) == (50, 150)
    assert next_token(100, 50, 20) == ""  # a short page is the last
    assert page_bounds(0, "") == (50, 0)


@pytest.mark.parametrize(
    "token",
    [
        _token("3" * 600),  # found by make fuzz: SQLite's OverflowError, an internal error
        _token(f"o:{MAX_OFFSET + 1}"),
        _token("o:-1"),
        _token("o:ten"),
        "not base64 at all",
    ],
)
def test_a_forged_token_is_refused_naming_the_field(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        page_bounds(10, token)
    assert refused.value.field == "page_token"
