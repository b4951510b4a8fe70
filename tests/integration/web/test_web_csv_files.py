"""CSV files as hospital spreadsheets export them, uploaded from the new-run form: read as the
Python client reads them (separator and decimal mark sniffed, the encoding chosen), or refused up
front naming the field and the fix, never stored half-read."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from support import ServerThread, create_user
from veil_client import InvalidArgument, Manager
from web_support import WebSession

#: A French Excel export: ';' between fields, ',' in numbers, Windows-1252 text.
FRENCH_EXPORT = "âge;ville;poids\n53;Orléans;72,5\n55;Créteil;62,1\n61;Paris;80,0\n"


def _columns(server: ServerThread, owner_id: str, run_id: str) -> dict[str, str]:
    assert server.server.web is not None
    run = server.server.web.context.runs.get_run(owner_id, run_id)
    (table,) = [t for t in run.tables if t.role == "original"]
    return {column.name: column.arrow_type for column in table.columns}


def test_a_windows_1252_semicolon_export_is_refused_naming_the_encoding_then_read_with_it(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    data = FRENCH_EXPORT.encode("cp1252")
    form = session.get("/runs/new").text
    assert re.search(r'<label for="encoding">[^<]+</label>\s*<select id="encoding"', form)

    refused = session.post(
        "/runs/new", {"display_name": "export"}, files={"file": ("export.csv", data, "text/csv")}
    )
    error = re.search(r'id="form-error">([^<]*)<', refused.text)
    assert refused.status_code == 400 and error is not None
    assert error.group(1).startswith("encoding: export.csv is not UTF-8 text")
    assert "Windows-1252" in error.group(1)
    assert 'value="export"' in refused.text  # the form keeps what was typed
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    assert manager.find_ids_by_name("export") == []

    created = session.post(
        "/runs/new",
        {"display_name": "export", "encoding": "cp1252"},
        files={"file": ("export.csv", data, "text/csv")},
    )
    assert created.status_code == 303, created.text
    run_id = created.headers["location"].split("/")[2]
    web_columns = _columns(veil_server, owner.id, run_id)
    assert web_columns == {"âge": "int64", "ville": "string", "poids": "double"}

    # The Python client reads the same file into the same columns.
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    runner = manager.create_runner("export from python")
    runner.add_table("export", str(path), encoding="cp1252")
    assert _columns(veil_server, owner.id, runner.set_name) == web_columns


def test_a_utf8_semicolon_export_with_decimal_commas_is_read_as_numbers(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    session.get("/runs/new")
    created = session.post(
        "/runs/new",
        {"display_name": "utf8 export"},
        files={"file": ("export.csv", FRENCH_EXPORT.encode("utf-8"), "text/csv")},
    )
    assert created.status_code == 303, created.text
    run_id = created.headers["location"].split("/")[2]
    assert _columns(veil_server, owner.id, run_id) == {
        "âge": "int64",
        "ville": "string",
        "poids": "double",
    }
    setup = session.get(created.headers["location"]).text
    assert "Table export (3 rows, 3 columns)" in setup
    # How each column was read, in words (the Arrow type for the curious), in both languages.
    assert re.search(r'<code>ville</code></td><td class="muted" title="string">text</td>', setup)
    french = session.get(created.headers["location"] + "?lang=fr").text
    read_as = dict(
        re.findall(r'<code>([^<]+)</code></td><td class="muted" title="\w+">([^<]+)<', french)
    )
    assert read_as == {"âge": "entier", "ville": "texte", "poids": "nombre"}


#: The same export as Excel and LibreOffice write it: a UTF-8 byte-order mark, CRLF line ends,
#: a trailing empty line, and all of these at once with Windows-1252 text.
EXPORT_VARIANTS = {
    "bom": ("\ufeff" + FRENCH_EXPORT, "utf-8"),
    "crlf": (FRENCH_EXPORT.replace("\n", "\r\n"), "utf-8"),
    "trailing empty line": (FRENCH_EXPORT + "\n", "utf-8"),
    "trailing empty crlf lines": (FRENCH_EXPORT.replace("\n", "\r\n") + "\r\n\r\n", "utf-8"),
    "bom, crlf and an empty line": (
        "\ufeff" + FRENCH_EXPORT.replace("\n", "\r\n") + "\r\n",
        "utf-8",
    ),
    "windows-1252, crlf and an empty line": (
        FRENCH_EXPORT.replace("\n", "\r\n") + "\r\n",
        "cp1252",
    ),
}
#: What the client and the web store of :data:`FRENCH_EXPORT`, however it is written.
FRENCH_VALUES = {
    "âge": [53, 55, 61],
    "ville": ["Orléans", "Créteil", "Paris"],
    "poids": [72.5, 62.1, 80.0],
}


def _post_file(session: WebSession, filename: str, data: bytes, encoding: str) -> Any:
    """The new-run form sent with ``data`` as its file."""
    session.get("/runs/new")
    return session.post(
        "/runs/new",
        {"display_name": "export", "encoding": encoding},
        files={"file": (filename, data, "text/csv")},
    )


def _refusal(response: Any) -> str:
    """The new-run form's error: the page came back with status 400 and the message."""
    error = re.search(r'id="form-error">([^<]*)<', response.text)
    assert response.status_code == 400 and error is not None, response.text
    return error.group(1)


def _upload_both_ways(
    veil_server: ServerThread,
    web: Callable[..., WebSession],
    tmp_path: Path,
    filename: str,
    data: bytes,
    encoding: str = "utf-8",
) -> tuple[Manager, list[str]]:
    """The file uploaded from the new-run form and by the Python client (as a table named as
    the form names it, the file's name without its extension): the two run ids."""
    owner = create_user(veil_server)
    created = _post_file(web(owner), filename, data, encoding)
    assert created.status_code == 303, created.text
    path = tmp_path / filename
    path.write_bytes(data)
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    runner = manager.create_runner("export from python")
    table = filename.split(".")[0]
    runner.add_table(table, str(path), encoding=None if encoding == "utf-8" else encoding)
    return manager, [created.headers["location"].split("/")[2], runner.set_name]


@pytest.mark.parametrize("variant", list(EXPORT_VARIANTS))
def test_an_export_with_a_bom_crlf_or_a_trailing_empty_line_reads_the_same_from_both_sides(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path, variant: str
) -> None:
    text, encoding = EXPORT_VARIANTS[variant]
    manager, runs = _upload_both_ways(
        veil_server, web, tmp_path, "export.csv", text.encode(encoding), encoding
    )
    for run_id in runs:
        stored = manager.runs_api.download_table(run_id, "export")
        assert stored.schema.types == [pa.int64(), pa.string(), pa.float64()], run_id
        assert stored.to_pydict() == FRENCH_VALUES, run_id


def test_a_gzipped_semicolon_export_reads_from_the_client_as_from_the_web(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    # The web failed on every .csv.gz (GzipFile opened the spooled 'w+b' upload for writing:
    # a 500); the client sniffed the dialect from the compressed bytes, read the export with
    # ',' and refused it ('Expected 1 columns, got 2').
    data = gzip.compress(FRENCH_EXPORT.encode())
    manager, runs = _upload_both_ways(veil_server, web, tmp_path, "export.csv.gz", data)
    for run_id in runs:
        assert manager.runs_api.download_table(run_id, "export").to_pydict() == FRENCH_VALUES


def test_decimal_commas_first_seen_past_the_fiftieth_row_are_numbers(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    # Weights whole for 60 rows, then with decimals: the dialect was judged on 50 rows, read
    # with a decimal point, and the column stored as text ('74,5') from both sides.
    rows = [f"{i};{70 + i % 5}" for i in range(60)] + [f"{i};{70 + i % 5},5" for i in range(40)]
    data = "\n".join(["âge;poids", *rows, ""]).encode()
    manager, runs = _upload_both_ways(veil_server, web, tmp_path, "weights.csv", data)
    for run_id in runs:
        stored = manager.runs_api.download_table(run_id, "weights")
        assert stored.schema.field("poids").type == pa.float64(), run_id
        assert stored.column("poids").to_pylist()[-1] == 74.5


def test_a_csv_gz_that_is_not_gzip_is_refused_by_name_from_both_sides(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    # The web's reader raised OSError (a 500); the form must name the file and say why.
    owner = create_user(veil_server)
    refused = _post_file(web(owner), "export.csv.gz", FRENCH_EXPORT.encode(), "utf-8")
    assert _refusal(refused).startswith("file: cannot read export.csv.gz as CSV (Not a gzipped")
    path = tmp_path / "export.csv.gz"
    path.write_bytes(FRENCH_EXPORT.encode())
    runner = Manager(base_url=veil_server.url, api_key=owner.api_key).create_runner("gz")
    with pytest.raises(
        InvalidArgument, match=r"cannot read CSV .*export.csv.gz: Not a gzip"
    ) as caught:
        runner.add_table("export", str(path))
    assert caught.value.field == "data"
    assert runner.config.tables == {}


def test_a_byte_order_mark_naming_another_encoding_is_refused_naming_the_encoding(
    veil_server: ServerThread, web: Callable[..., WebSession], tmp_path: Path
) -> None:
    # A UTF-8 export ('CSV UTF-8' writes a mark) read as Windows-1252 was stored without a word
    # with a column 'ï»¿âge' and 'OrlÃ©ans'; Excel's 'Unicode Text' (UTF-16) was called 'not
    # UTF-8' with Windows-1252 as the fix, which stores it as garbage.
    owner = create_user(veil_server)
    session = web(owner)
    utf8 = ("\ufeff" + FRENCH_EXPORT).encode()
    assert _refusal(_post_file(session, "export.csv", utf8, "cp1252")) == (
        "encoding: export.csv starts with a UTF-8 byte-order mark, so it is UTF-8 text, not "
        "Windows-1252: choose UTF-8 in the encoding list and upload it again."
    )
    path = tmp_path / "export.csv"
    path.write_bytes(utf8)
    manager = Manager(base_url=veil_server.url, api_key=owner.api_key)
    runner = manager.create_runner("marks")
    with pytest.raises(
        InvalidArgument, match=r"UTF-8 text, not cp1252: leave encoding unset"
    ) as caught:
        runner.add_table("export", str(path), encoding="cp1252")
    assert caught.value.field == "encoding"

    utf16 = FRENCH_EXPORT.replace(";", "\t").encode("utf-16")
    assert _refusal(_post_file(session, "export.txt", utf16, "utf-8")).startswith(
        "encoding: export.txt starts with a UTF-16 byte-order mark, so it is UTF-16 text, not "
        "UTF-8: the form reads UTF-8, Windows-1252 and Latin-1: re-save it as UTF-8"
    )
    path.write_bytes(utf16)
    with pytest.raises(InvalidArgument, match=r"not UTF-8: pass encoding='utf-16'") as caught:
        runner.add_table("export", str(path))
    assert caught.value.field == "data"
    assert runner.config.tables == {}
    runner.add_table("export", str(path), encoding="utf-16")
    stored = manager.runs_api.download_table(runner.set_name, "export")
    assert stored.to_pydict() == FRENCH_VALUES
