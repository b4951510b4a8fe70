"""A French page says in French what the engine and the service say: the advice's notes (sent as
codes with parameters, ``engine_contract.advice_notes``) and the refusals of the forms
(``errors.Message``), its numbers written the French way; the English page and the API keep the
English words they always had."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from dp_support import register
from support import ServerThread, TestUser, create_user
from web_support import WebSession

ERROR = re.compile(r'id="form-error">([^<]*)<')


def _table(rows: int = 120) -> bytes:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(rows)],
            "age": rng.integers(18, 90, rows),
            "weight": rng.normal(70.5, 9.0, rows).round(1),
            "site": ["Lyon"] * rows,
            "group": rng.choice(["a", "b", "c"], rows),
        }
    )
    frame.loc[::9, "weight"] = np.nan
    return frame.to_csv(index=False).encode()


def _notes(page: str) -> list[str]:
    found = re.search(r'<div class="alert info" role="status">(.*?)</div>', page, re.S)
    assert found is not None, page
    return [html.unescape(n) for n in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def _french(session: WebSession) -> None:
    assert session.get("/runs/new?lang=fr").status_code == 200  # sets the language cookie


def test_the_advice_notes_read_in_french_and_stay_english_in_english(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    _french(session)
    created = session.post(
        "/runs/new",
        {"display_name": "cohorte"},
        files={"file": ("cohort.csv", _table(), "text/csv")},
    )
    assert created.status_code == 303, created.text
    french = _notes(session.get(created.headers["location"]).text)
    english = _notes(session.get(created.headers["location"] + "?lang=en").text)
    assert len(french) == len(english) == 6
    assert english[0] == (
        "k = 6: 120 rows is small: k=6 (5 % of the rows) keeps neighbourhoods local; raise it "
        "for more privacy at some cost in utility."
    )
    assert french[0] == (
        "k = 6 : 120 lignes, c'est peu : k=6 (5 % des lignes) garde des voisinages locaux ; "
        "augmentez-le pour plus de confidentialité, au prix d'un peu d'utilité."
    )
    assert french[2].startswith("imputation_method = knn : 1 colonnes ont des valeurs manquantes")
    assert "12 % dans 'weight'" in french[2] or "11 % dans 'weight'" in french[2]
    assert french[3].startswith("use_categorical_reduction = non : ")
    assert french[4].startswith("patient_id (identifiant) : Ressemble à un identifiant : 120")
    assert ", et son nom le dit" in french[4]
    assert (
        french[5] == "site (constante) : Une seule valeur : excluez-la et rajoutez-la telle quelle."
    )
    for english_words in (
        "rows is small",
        "Looks like an identifier",
        "modalities in total",
        "False",
    ):
        assert not any(english_words in note for note in french), english_words
    assert english[5] == "site (constant): One value only: exclude it and add it back unchanged."


def test_refused_uploads_and_parameters_are_explained_in_french(
    veil_server: ServerThread, web: Callable[..., WebSession]
) -> None:
    owner = create_user(veil_server)
    session = web(owner)
    _french(session)

    def upload(name: str, data: bytes, **form: str) -> str:
        refused = session.post(
            "/runs/new", {"display_name": "x", **form}, files={"file": (name, data, "text/csv")}
        )
        assert refused.status_code == 400, refused.text
        error = ERROR.search(refused.text)
        assert error is not None
        return html.unescape(error.group(1))

    latin = "ville;poids\nOrléans;72,5\nCréteil;61,0\n".encode("latin-1")
    assert upload("export.csv", latin).startswith(
        "encoding : export.csv n'est pas du texte UTF-8 (un export Windows-1252"
    )
    # Past the sniffed start, a Latin-1 byte (pyarrow would keep the column as bytes).
    late = b"ville,poids\n" + b"Paris,70\n" * 9000 + "Orléans,72\n".encode("latin-1")
    assert upload("late.csv", late).startswith("encoding : late.csv n'est pas du texte UTF-8")
    assert upload("export.csv", b"a,b\n1,2\n", encoding="ebcdic") == (
        "encoding : 'ebcdic' n'est pas un encodage proposé par le formulaire ; choisissez parmi "
        "UTF-8, Windows-1252, Latin-1."
    )
    assert upload("table.xlsx", b"PK\x03\x04").startswith(
        "file : table.xlsx n'est ni un CSV ni un Parquet ; téléversez"
    )
    assert upload("ragged.csv", b"a,b\n1,2\n3,4,5\n").startswith(
        "file : impossible de lire ragged.csv comme CSV ("
    )
    assert upload("empty.csv", b"") == "file : choisissez un fichier CSV ou Parquet."
    assert upload("inf.csv", b"a,b\n1.5,x\ninf,y\n").startswith(
        "la colonne 'a' contient des valeurs infinies (inf ou -inf), la première à la ligne 2 :"
    )
    assert upload("header.csv", b"a,b\n") == (
        "la table a des colonnes (a, b) mais aucune ligne ; téléversez une table d'au moins une "
        "ligne."
    )

    created = session.post(
        "/runs/new", {"display_name": "ok"}, files={"file": ("cohort.csv", _table(), "text/csv")}
    )
    run_path = created.headers["location"].removesuffix("/setup")
    refusals = {
        "cohort.k=abc": (
            {"cohort.k": "abc", "job.standard": "on"},
            "k doit être un nombre entier ; reçu 'abc'.",
        ),
        "k=1": (
            {"cohort.k": "1", "job.standard": "on"},
            "doit être supérieur ou égal à 2 ; reçu 1.",
        ),
        "max_weight": (
            {"cohort.k": "20", "cohort.max_weight": "0.01", "job.standard": "on"},
            "doit être un nombre entre 1/k = 0,0500 (tous les voisins pèsent autant) et 1 "
            "(aucune borne) ; reçu 0,01.",
        ),
        "no k": ({"job.standard": "on"}, "cohort : indiquez k (le nombre de voisins)."),
    }
    for name, (form, words) in refusals.items():
        refused = session.post(f"{run_path}/start", form)
        error = ERROR.search(refused.text)
        assert refused.status_code == 400 and error is not None, name
        assert words in html.unescape(error.group(1)), (name, error.group(1))
    target = session.post(
        f"{run_path}/advise", {"table": "cohort", "cohort.target.inference": "200"}
    )
    error = ERROR.search(target.text)
    assert target.status_code == 400 and error is not None
    assert html.unescape(error.group(1)) == (
        "privacy_targets.inference doit être compris entre 0,0 et 1,0 ; reçu 2,0. "
        "(Le formulaire prend cette cible en % : il envoie la valeur divisée par 100.)"
    )
    # The same refusal in English, as before.
    english = session.post(f"{run_path}/start?lang=en", {"cohort.k": "abc", "job.standard": "on"})
    error = ERROR.search(english.text)
    assert error is not None
    assert html.unescape(error.group(1)) == "k must be a whole number; got 'abc'."


def test_a_refused_grant_and_key_are_explained_in_french(
    veil_server: ServerThread, admin: TestUser, web: Callable[..., WebSession]
) -> None:
    analyst = create_user(veil_server)
    dataset = register(veil_server)
    session = web(admin)
    session.get("/admin/grants?lang=fr")
    refused = session.post(
        "/admin/grants",
        {"user": analyst.username, "dataset": dataset, "epsilon": "-1,5", "delta": "0"},
    )
    assert refused.status_code == 400
    assert "epsilon doit être un nombre fini ≥ 0 ; reçu -1,5." in html.unescape(refused.text)
    refused = session.post(
        "/admin/grants", {"user": analyst.username, "dataset": dataset, "epsilon": "un"}
    )
    assert "epsilon doit être un nombre ; reçu 'un'." in html.unescape(refused.text)
    weak = session.post(
        "/admin/users",
        {"username": "nouvelle", "email": "n@example.org", "role": "user", "password": "court"},
    )
    assert weak.status_code == 400
    assert "password est trop faible : utilisez au moins 12 caractères." in weak.text
    unknown = session.post(
        "/admin/grants", {"user": "personne", "dataset": dataset, "epsilon": "1"}
    )
    assert unknown.status_code == 404
    assert "Aucun utilisateur &#39;personne&#39; ; vérifiez l&#39;identifiant." in unknown.text
    session.get("/account")
    key = session.post("/account/keys", {"name": "x" * 300, "expiration_days": "30"})
    assert key.status_code == 400
    assert "Le nom doit compter de 1 à 128 caractères." in key.text
