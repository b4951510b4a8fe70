"""One rule finds a CSV's separator and decimal mark for the client's and the web's uploads."""

from __future__ import annotations

import pytest
from veil_wire.csv_dialect import sniff_dialect


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age,bmi\n41,22.5\n52,30.1\n", (",", ".")),
        ("âge;imc\n41;22,5\n52;30,1\n", (";", ",")),
        ("age;bmi\n41;22.5\n52;30.1\n", (";", ".")),
        ("age\tcity\n41\tLyon\n52\tNancy\n", ("\t", ".")),
        ("age|city\n41|Lyon\n", ("|", ".")),
        ("note\nprix: 3;4\nprix: 5;6\n", (",", ".")),  # ';' only in values, not the header
        ("", (",", ".")),
    ],
)
def test_separator_and_decimal_mark(text: str, expected: tuple[str, str]) -> None:
    assert sniff_dialect(text, complete=True) == expected


def test_a_cut_last_line_is_not_read() -> None:
    """The sample of a large file may end in the middle of a row: a half row with a decimal
    point must not outvote the decimal commas of the complete rows."""
    text = "a;b\n1;2,5\n3;4,5\n5;6.7"
    assert sniff_dialect(text, complete=False) == (";", ",")
    assert sniff_dialect(text, complete=True) == (";", ".")


def test_decimal_commas_past_the_first_fifty_rows_are_seen() -> None:
    """A weight column of whole numbers for 60 rows, then with decimals: read with a decimal
    point, pyarrow kept the whole column as text."""
    rows = [f"{i};{70 + i % 5}" for i in range(60)] + [f"{i};{70 + i % 5},5" for i in range(40)]
    assert sniff_dialect("\n".join(["âge;poids", *rows, ""]), complete=True) == (";", ",")
