"""Page tokens: opaque to clients, an offset inside."""

from __future__ import annotations

import base64

from veil_service.errors import InvalidArgumentError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**62
"""Largest offset a token may hold: the databases' OFFSET is a signed 64-bit integer, and a
forged token of a 600-digit number reached SQLite as an OverflowError, an internal error (found
by ``make fuzz``)."""


def page_bounds(page_size: int, page_token: str) -> tuple[int, int]:
    """(limit, offset) of a page request.

    Raises:
        InvalidArgumentError: negative size or a token this server did not issue.
    """
    if page_size < 0:
        raise InvalidArgumentError("page_size must be >= 0.", field="page_size")
    limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return limit, 0
    try:
        offset = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("o:"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgumentError(
            "page_token is not valid; pass next_page_token unchanged.", field="page_token"
        ) from None
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidArgumentError(
            "page_token is not valid; pass next_page_token unchanged.", field="page_token"
        )
    return limit, offset


def next_token(offset: int, limit: int, returned: int) -> str:
    """The token of the next page, empty when this page was the last."""
    if returned < limit:
        return ""
    return base64.urlsafe_b64encode(f"o:{offset + returned}".encode()).decode()
