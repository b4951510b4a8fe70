"""Reading typed values out of posted forms; the domain validates their meaning."""

from __future__ import annotations

from veil_service.errors import InvalidArgumentError, Message


def form_int(text: str, field: str, *, default: int | None = None) -> int:
    """An integer field (empty gives ``default`` when there is one).

    Raises:
        InvalidArgumentError: not an integer, naming the field.
    """
    text = text.strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidArgumentError(
            f"{field} must be a whole number; got {text!r}.",
            field=field,
            code=Message.FORM_NOT_INTEGER,
            params={"field": field, "text": text},
        ) from None


def form_optional_int(text: str, field: str) -> int | None:
    """An integer field that may be left empty (None)."""
    return form_int(text, field) if text.strip() else None


def form_float(text: str, field: str) -> float:
    """A number field.

    Raises:
        InvalidArgumentError: not a number, naming the field.
    """
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise InvalidArgumentError(
            f"{field} must be a number; got {text!r}.",
            field=field,
            code=Message.FORM_NOT_NUMBER,
            params={"field": field, "text": text},
        ) from None


def form_names(text: str) -> list[str]:
    """A comma-separated list of column names (blanks dropped)."""
    return [name.strip() for name in text.split(",") if name.strip()]
