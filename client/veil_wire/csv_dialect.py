"""How a CSV file is written, from its first lines: one rule for every upload path.

European spreadsheets write ``;`` between fields and ``,`` in numbers; read with the default
separator, such a file became one column. The Python client (``veil_client.tables``) and the web
application's upload form (``veil_service.web.uploads``) both read the first
:data:`SNIFF_BYTES` of a file's text (``veil_wire.csv_reader.read_sample``) and ask
:func:`sniff_dialect`, so a file reads into the same columns whichever way it was sent.
"""

from __future__ import annotations

import csv
import re

SNIFF_BYTES = 64 << 10
"""Bytes of a CSV read to find its separator."""

SEPARATORS = ",;\t|"
"""The separators recognised: comma, semicolon, tab and pipe."""

_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^-?\d+\.\d+$")


def sniff_dialect(text: str, complete: bool) -> tuple[str, str]:
    """The separator and the decimal mark of a CSV from its first lines.

    A separator other than ``,`` must occur in the header (Python's sniffer picks one from the
    values alone otherwise); the decimal mark is ``,`` only with another separator, when some
    fields of the sample read as numbers with a comma and none with a point.

    Args:
        text: The start of the file, decoded.
        complete: Whether ``text`` is the whole file (else its last line may be cut, and is not
            read).

    Returns:
        ``(delimiter, decimal_point)``; ``(",", ".")`` when nothing else is clear.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete:
        lines = lines[:-1]
    if not lines:
        return ",", "."
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=SEPARATORS).delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != "," and lines[0].count(delimiter) == 0:
        delimiter = ","
    decimal_point = "."
    if delimiter != ",":
        # Every line of the sample: a weight column whose first 50 rows are whole numbers
        # (72;80) and whose later ones have decimals (72,5) was read as text.
        cells = [c.strip().strip('"') for line in lines[1:] for c in line.split(delimiter)]
        if any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
            _DECIMAL_POINT.match(c) for c in cells
        ):
            decimal_point = ","
    return delimiter, decimal_point
