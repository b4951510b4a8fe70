"""CSV files as hospital spreadsheets export them, uploaded from the new-run form: read as the
Python client reads them (separator and decimal mark sniffed, the encoding chosen), or refused up
front naming the field and the fix, never stored half-read."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from support import ServerThread, create_user
from veil_client import Manager
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
