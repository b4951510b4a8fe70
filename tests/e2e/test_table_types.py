"""What a table's columns are and come back as, through the real server and client: the types
the client declares, the dtypes the avatars keep, and the refusals of what cannot be typed."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from support import ServerThread, TestUser
from veil_client import InvalidArgument, Manager
from veil_client.column_types import infer_types
from veil_client.models import JobKind


@pytest.fixture()
def manager(veil_server: ServerThread, user: TestUser) -> Manager:
    return Manager(base_url=veil_server.url, api_key=user.api_key)


def _people(rows: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"age": np.arange(rows) + 20, "sex": list("FM") * (rows // 2)})


def test_a_bad_column_type_is_refused_before_any_upload_and_a_retry_works(
    manager: Manager,
) -> None:
    runner = manager.create_runner("bad_type", seed=1)
    frame = _people()
    with pytest.raises(InvalidArgument) as caught:
        runner.add_table("t", frame, types={"age": "integer"})
    assert "types['age'] is 'integer'" in str(caught.value)
    assert "int, bool, category, float, datetime, datetime_tz" in str(caught.value)
    with pytest.raises(InvalidArgument, match=r"types names columns .* \['agee'\]"):
        runner.add_table("t", frame, types={"agee": "int"})
    with pytest.raises(InvalidArgument, match="columns_to_drop must be a list"):
        runner.add_table("t", frame, columns_to_drop="age")  # type: ignore[arg-type]
    assert runner.config.tables == {}
    if runner.set_name is not None:
        assert manager.runs_api.list_tables(runner.set_name) == []

    runner.add_table("t", frame, types={"age": "int"})
    runner.set_parameters("t", k=5, ncp=2)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("t")
    assert avatars["age"].dtype == np.int64
    assert avatars["age"].between(20, 49).all()
    assert set(avatars["sex"]) <= {"F", "M"}


def test_a_table_the_server_refuses_is_not_left_uploaded(manager: Manager) -> None:
    runner = manager.create_runner("refused_table", seed=1)
    frame = _people().assign(id=np.arange(30))
    with pytest.raises(InvalidArgument):
        runner.add_table("t", frame, primary_key="id", time_series_time="id")
    assert runner.config.tables == {}
    assert runner.set_name is not None
    assert manager.runs_api.list_tables(runner.set_name) == []
    runner.add_table("t", frame, primary_key="id")
    assert [t.name for t in manager.runs_api.list_tables(runner.set_name)] == ["t"]


def test_arrow_backed_columns_are_typed_by_kind_and_come_back_arrow_backed(
    manager: Manager, tmp_path: Path
) -> None:
    rng = np.random.default_rng(6)
    rows = 200
    pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "bmi": rng.normal(25, 4, rows).round(2),
            "sex": rng.choice(["F", "M"], rows),
            "smoker": rng.random(rows) < 0.3,
            "admit": pd.Timestamp("2021-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h"),
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    # What pd.read_csv(..., dtype_backend="pyarrow") gives, with an Arrow timestamp as well.
    frame = pd.read_csv(tmp_path / "t.csv", dtype_backend="pyarrow")
    frame["admit"] = frame["admit"].astype("timestamp[ns][pyarrow]")
    assert infer_types(frame) == {
        "age": "int",
        "bmi": "float",
        "sex": "category",
        "smoker": "bool",
        "admit": "datetime",
    }
    runner = manager.create_runner("arrow_dtypes", seed=1)
    runner.add_table("t", frame)
    runner.set_parameters("t", k=10)
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("t")
    assert avatars.dtypes.astype(str).to_dict() == frame.dtypes.astype(str).to_dict()
    assert avatars["bmi"].between(frame["bmi"].min(), frame["bmi"].max()).all()
    assert avatars["bmi"].nunique() > 50  # values, not pseudonyms or a few modalities
    assert avatars["admit"].between(frame["admit"].min(), frame["admit"].max()).all()
    assert set(avatars["sex"]) <= {"F", "M"}


def test_a_linked_runs_parents_children_and_series_keep_their_dtypes(manager: Manager) -> None:
    rng = np.random.default_rng(1)
    people = 60
    person = pd.DataFrame(
        {
            "pid": pd.array([f"p{i:03d}" for i in range(people)], dtype="string"),
            "age": rng.integers(18, 90, people).astype("int16"),
            "sex": pd.Categorical(rng.choice(["F", "M"], people), categories=["F", "M", "X"]),
            "city": pd.array(rng.choice(["Paris", "Lyon"], people), dtype="string"),
            "born": (
                pd.Timestamp("1990-01-01")
                + pd.to_timedelta(rng.integers(0, 9000, people), unit="h")
            ).tz_localize("Europe/Paris"),
        }
    )
    owners = np.repeat(np.arange(people), rng.integers(1, 4, people))
    stay = pd.DataFrame(
        {
            "sid": np.arange(len(owners), dtype=np.int32),
            "pid": person["pid"].to_numpy()[owners],
            "los": rng.gamma(2, 3, len(owners)).astype("float32"),
            "ward": pd.Categorical(rng.choice(["A", "B"], len(owners)), categories=["A", "B", "C"]),
            "beds": rng.integers(1, 9, len(owners)).astype("uint8"),
        }
    )
    readings = np.repeat(np.arange(people), 6)
    series = pd.DataFrame(
        {
            "rid": np.arange(len(readings)),
            "pid": person["pid"].to_numpy()[readings],
            "t": (
                pd.Timestamp("2024-03-01")
                + pd.to_timedelta(np.tile(np.arange(6), people), unit="h")
            ).tz_localize("Europe/Paris"),
            "value": rng.normal(0, 1, len(readings)).astype("float32"),
        }
    )
    runner = manager.create_runner("linked_dtypes", seed=1)
    runner.add_table("person", person, primary_key="pid", individual_level=True)
    runner.add_table("stay", stay, primary_key="sid", foreign_keys=["pid"])
    runner.add_table(
        "reading", series, primary_key="rid", foreign_keys=["pid"], time_series_time="t"
    )
    runner.add_link("person", "pid", "stay", "pid")
    runner.add_link("person", "pid", "reading", "pid", "time_series")
    runner.set_parameters("person", k=5)
    runner.set_parameters("stay", k=5)
    runner.run(jobs_to_run=[JobKind.standard])
    for name, original in (("person", person), ("stay", stay), ("reading", series)):
        avatars = runner.shuffled(name)
        assert avatars.dtypes.to_dict() == original.dtypes.to_dict(), name
    avatars = runner.shuffled("person")
    assert list(avatars["sex"].cat.categories) == ["F", "M", "X"]
    assert set(runner.shuffled("stay")["pid"]) <= set(avatars["pid"])
    assert str(runner.shuffled("reading")["t"].dt.tz) == "Europe/Paris"


def test_date_columns_are_avatarized_as_days_and_come_back_as_dates(
    manager: Manager, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    rows = 120
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    dates = [d.date() for d in days]
    dates[3] = None
    frame = pd.DataFrame(
        {"age": rng.integers(18, 90, rows), "sex": rng.choice(["F", "M"], rows), "admit": dates}
    )
    frame.to_csv(tmp_path / "t.csv", index=False)  # admit as YYYY-MM-DD: pyarrow reads date32
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "t.parquet")
    arrow_backed = frame.assign(admit=frame["admit"].astype(pd.ArrowDtype(pa.date32())))
    sources: dict[str, object] = {
        "frame": frame,
        "csv": tmp_path / "t.csv",
        "parquet": tmp_path / "t.parquet",
        "arrow": arrow_backed,
    }
    low, high = min(d for d in dates if d), max(d for d in dates if d)
    runner = manager.create_runner("dates", seed=1)
    for name, source in sources.items():
        runner.add_table(name, source)  # type: ignore[arg-type]
        runner.set_parameters(name, k=10, ncp=2)
    runner.run(jobs_to_run=[JobKind.standard])
    for name in sources:
        admit = runner.shuffled(name)["admit"]
        if name == "arrow":
            assert str(admit.dtype) == "date32[day][pyarrow]"
        else:
            assert admit.dtype == object, name
        observed = admit.dropna().tolist()
        assert all(type(d) is datetime.date for d in observed), name
        assert all(low <= d <= high for d in observed), name
        assert len(set(observed)) > 30, name  # days, not a few modalities


def test_integers_with_missing_values_come_back_as_nullable_integers(
    manager: Manager, tmp_path: Path
) -> None:
    rng = np.random.default_rng(5)
    rows = 200
    ages = [int(x) if i % 4 else None for i, x in enumerate(rng.integers(18, 90, rows))]
    table = pa.table(
        {
            "age": pa.array(ages, pa.int64()),
            "bmi": pa.array(rng.normal(25, 4, rows)),
            "sex": pa.array(rng.choice(["F", "M"], rows)),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")  # an Arrow schema, no pandas dtypes
    pacsv.write_csv(table, tmp_path / "t.csv")  # whole ages, and blanks
    runner = manager.create_runner("int_nulls", seed=1)
    for name in ("parquet", "csv"):
        runner.add_table(name, tmp_path / f"t.{name}")
        runner.set_parameters(name, k=10, ncp=2)
    runner.run(jobs_to_run=[JobKind.standard])
    for name in ("parquet", "csv"):
        age = runner.shuffled(name)["age"]
        assert age.dtype == "Int64", name
        assert age.isna().any() and age.notna().sum() > 100, name
        assert age.dropna().between(18, 89).all(), name
        assert (age.dropna() % 1 == 0).all(), name


def test_infinite_values_are_refused_naming_the_column_and_their_count(manager: Manager) -> None:
    frame = _people(40).assign(bmi=np.linspace(18.0, 30.0, 40))
    frame.loc[[3, 9], "bmi"] = [np.inf, -np.inf]
    runner = manager.create_runner("infinite", seed=1)
    with pytest.raises(InvalidArgument, match=r"column 'bmi' holds infinite values .* in 2 rows"):
        runner.add_table("t", frame)
    assert runner.config.tables == {}


def test_a_file_with_infinite_values_is_refused_at_upload_and_nothing_is_stored(
    manager: Manager, tmp_path: Path
) -> None:
    """A CSV's ``inf`` text (or a Parquet file's inf) was stored, and the job refused it later
    as FailedPrecondition: the server's ingest refuses it, whoever sends it."""
    frame = _people(40).assign(bmi=np.linspace(18.0, 30.0, 40))
    frame.loc[[3, 9], "bmi"] = [np.inf, -np.inf]
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert "inf" in (tmp_path / "t.csv").read_text()
    frame.to_parquet(tmp_path / "t.parquet")
    runner = manager.create_runner("infinite_files", seed=1)
    for name in ("t.csv", "t.parquet"):
        with pytest.raises(InvalidArgument) as caught:
            runner.add_table("t", tmp_path / name)
        assert (caught.value.code, caught.value.reason) == ("INVALID_ARGUMENT", "INFINITE_VALUES")
        assert "column 'bmi' holds infinite values (inf or -inf), the first in row 4" in str(
            caught.value
        )
        assert "columns_to_drop" in str(caught.value)
        assert runner.config.tables == {}
        assert runner.set_name is not None
        assert manager.runs_api.list_tables(runner.set_name) == []
    # Past the first record batch (65,536 rows), through the API's upload, over a stored table.
    rows = 100_000
    big = pa.table({"x": np.arange(rows, dtype=np.float64), "y": np.ones(rows)})
    manager.runs_api.upload_table(runner.set_name, "big", big)
    with_inf = big.set_column(0, "x", pa.array(np.r_[np.arange(rows - 1.0), -np.inf]))
    with pytest.raises(InvalidArgument, match=r"column 'x' holds .* the first in row 100000:"):
        manager.runs_api.upload_table(runner.set_name, "big", with_inf, replace=True)
    (kept,) = manager.runs_api.list_tables(runner.set_name)
    assert (kept.name, kept.num_rows) == ("big", rows)
    assert manager.runs_api.download_table(runner.set_name, "big").equals(big)
    # Dropping the column, or blanking the cells, is the fix.
    runner.add_table("t", tmp_path / "t.csv", columns_to_drop=["bmi"])
    frame.replace([np.inf, -np.inf], np.nan).to_csv(tmp_path / "fixed.csv", index=False)
    runner.add_table("fixed", tmp_path / "fixed.csv")
    assert sorted(runner.config.tables) == ["fixed", "t"]


def test_a_csv_that_is_not_utf8_is_refused_before_upload_saying_how_to_fix_it(
    manager: Manager, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    frame = _people().assign(ville=["Orléans", "Besançon"] * 15)
    path.write_bytes(frame.rename(columns={"age": "âge"}).to_csv(index=False).encode("latin-1"))
    runner = manager.create_runner("latin1", seed=1)
    with pytest.raises(
        InvalidArgument, match=r"latin1.csv is not UTF-8 .* encoding='latin-1'.* re-save it as UTF"
    ):
        runner.add_table("t", path)
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))  # only the values are Latin-1
    with pytest.raises(InvalidArgument, match=r"latin1.csv is not UTF-8"):
        runner.add_table("t", path)
    assert runner.config.tables == {}
    runner.add_table("t", frame)  # the runner is usable
    assert list(runner.config.tables) == ["t"]


def test_a_csv_whose_header_alone_is_latin1_is_refused_as_not_utf8(
    manager: Manager, tmp_path: Path
) -> None:
    """Values in ASCII, a Latin-1 header ('âge'): pyarrow reads the names as bytes that fail
    only when asked for, so no column was binary and the client failed later with a raw
    UnicodeDecodeError instead of saying which encoding to give."""
    path = tmp_path / "header.csv"
    path.write_bytes(_people().rename(columns={"age": "âge"}).to_csv(index=False).encode("latin-1"))
    runner = manager.create_runner("latin1_header", seed=1)
    with pytest.raises(InvalidArgument, match=r"header.csv is not UTF-8 .* encoding='latin-1'"):
        runner.add_table("t", path)
    assert runner.config.tables == {}
    runner.add_table("t", path, encoding="latin-1")
    stored = manager.runs_api.download_table(runner.set_name, "t")
    assert stored.schema.names == ["âge", "sex"]


def test_a_csv_in_another_encoding_is_read_with_encoding_and_a_bad_name_is_refused(
    manager: Manager, tmp_path: Path
) -> None:
    """A Latin-1 or Windows-1252 export streams with ``encoding=`` (pyarrow transcodes it block by
    block): before, the only way was pd.read_csv and a DataFrame, the whole file in memory."""
    frame = _people().assign(ville=["Orléans", "Besançon"] * 15, poids=np.linspace(50, 80, 30))
    french = frame.rename(columns={"age": "âge"})
    path = tmp_path / "export.csv"
    path.write_bytes(french.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    runner = manager.create_runner("encodings", seed=1)
    for bad in ("latin-2000", "base64", ""):
        with pytest.raises(InvalidArgument) as caught:
            runner.add_table("t", path, encoding=bad)
        assert caught.value.field == "encoding"
        assert f"encoding {bad!r} is not a text encoding" in str(caught.value)
    assert runner.config.tables == {}
    assert runner.set_name is None  # refused before anything was sent
    with pytest.raises(InvalidArgument, match=r"export.csv is not ascii text") as caught:
        runner.add_table("t", path, encoding="ascii")
    assert caught.value.field == "encoding"
    assert runner.config.tables == {}

    runner.add_table("t", path, encoding="cp1252", types={"ville": "category"})
    assert runner.set_name is not None
    stored = manager.runs_api.download_table(runner.set_name, "t").to_pandas()
    assert list(stored.columns) == ["âge", "sex", "ville", "poids"]
    assert stored["ville"].tolist() == french["ville"].tolist()
    assert stored["poids"].tolist() == pytest.approx(french["poids"].tolist())
    # upload_file takes it too, for a re-upload or a table declared by YAML.
    path.write_bytes(french.iloc[:20].to_csv(index=False).encode("latin-1"))
    runner.upload_file("t", path, encoding="latin-1")
    stored = manager.runs_api.download_table(runner.set_name, "t").to_pandas()
    assert stored["ville"].tolist() == french["ville"].iloc[:20].tolist()


def test_integer_codes_declared_category_come_back_as_integers_from_a_csv_as_from_a_dataframe(
    manager: Manager, tmp_path: Path
) -> None:
    """The client reads a CSV column declared ``category`` as text (its codes may have leading
    zeros, or turn to letters past the first block): its integer codes came back as the strings
    '1', '2' where the same DataFrame column came back int64."""
    rng = np.random.default_rng(11)
    rows = 200
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "stage": rng.integers(1, 5, rows),
            "grade": pd.array(
                [None if i % 5 == 0 else int(g) for i, g in enumerate(rng.integers(-2, 3, rows))],
                dtype="Int64",
            ),
            "zip": rng.choice(["04748", "75001", "13002"], rows),
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    declared = {"stage": "category", "grade": "category", "zip": "category"}
    runner = manager.create_runner("csv_codes", seed=3)
    runner.add_table("csv", tmp_path / "t.csv", types=declared)
    runner.add_table("frame", frame, types=declared)
    for name in ("csv", "frame"):
        runner.set_parameters(name, k=10, ncp=3)
    runner.run(jobs_to_run=[JobKind.standard])
    for name in ("csv", "frame"):
        avatars = runner.shuffled(name)
        assert avatars["stage"].dtype == np.int64, name
        assert set(avatars["stage"]) <= {1, 2, 3, 4}, name
        assert avatars["grade"].dtype == "Int64", name
        assert avatars["grade"].isna().any(), name
        assert set(avatars["grade"].dropna()) <= {-2, -1, 0, 1, 2}, name
        # Codes that are not plain integers stay text, leading zeros and all.
        assert avatars["zip"].dtype == object, name
        assert set(avatars["zip"]) <= {"04748", "75001", "13002"}, name
    # The YAML equivalent: the types declared there, the CSV uploaded with upload_file.
    runner.get_yaml(str(tmp_path / "run.yaml"))
    from_yaml = manager.create_runner_from_yaml(str(tmp_path / "run.yaml"), "csv_codes_yaml")
    from_yaml.upload_file("csv", tmp_path / "t.csv")
    from_yaml.upload_file("frame", frame)
    from_yaml.run(jobs_to_run=[JobKind.standard])
    avatars = from_yaml.shuffled("csv")
    assert (avatars["stage"].dtype, avatars["grade"].dtype) == (np.int64, "Int64")
    # upload_file read the CSV by inference alone, whatever the YAML declared: "04748" was 4748.
    assert avatars["zip"].dtype == object
    assert set(avatars["zip"]) <= {"04748", "75001", "13002"}


def test_a_table_with_pseudonymized_columns_keeps_its_dtypes(manager: Manager) -> None:
    # The standard job's features path (pseudonyms, processors, augmentation, DP generators)
    # gave the avatars the algorithms' dtypes: int32 as int64, category as object, dates as
    # datetimes. Only the pseudonymized column changes type, to its pseudonyms'.
    from veil_client.config import Uuid4Strategy

    rng = np.random.default_rng(2)
    rows = 90
    days = pd.Timestamp("2022-03-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D")
    frame = pd.DataFrame(
        {
            "patient": np.arange(rows, dtype=np.int64) + 1000,
            "age": rng.integers(18, 90, rows).astype(np.int32),
            "bmi": rng.normal(25, 4, rows).astype(np.float32),
            "ward": pd.Categorical(
                rng.choice(["A", "B", "C"], rows), categories=["A", "B", "C", "D"]
            ),
            "admit": [d.date() for d in days],
        }
    )
    runner = manager.create_runner("pseudonymized_dtypes", seed=3)
    runner.add_table("people", frame)
    runner.set_parameters("people", k=10, pseudonymized_columns={"patient": Uuid4Strategy()})
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("people")
    assert avatars["patient"].str.fullmatch(r"[0-9a-f-]{36}").all()
    for column in ("age", "bmi", "ward"):
        assert avatars[column].dtype == frame[column].dtype, column
    assert list(avatars["ward"].cat.categories) == ["A", "B", "C", "D"]
    assert all(type(d) is datetime.date for d in avatars["admit"])


def test_a_column_arrow_cannot_type_is_refused_by_name_even_past_the_first_slice(
    manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veil_client import tables

    mixed = _people(40).assign(code=[1, "a"] * 20)
    runner = manager.create_runner("mixed_object", seed=1)
    with pytest.raises(InvalidArgument, match="column 'code' cannot be sent as one type"):
        runner.add_table("people", mixed)
    # Typed by its first slice, the column breaks in a later one: the error raised while the
    # upload streams reaches the caller, not gRPC's "Exception iterating requests!".
    monkeypatch.setattr(tables, "DATAFRAME_SLICE_ROWS", 10)
    late = _people(40).assign(code=[*range(30), *["x"] * 10])
    with pytest.raises(InvalidArgument, match="column 'code' cannot be sent as one type"):
        runner.add_table("people", late)
    runner.add_table("people", late.assign(code=late["code"].astype(str)))  # nothing left over
    assert list(runner.config.tables) == ["people"]


def test_a_re_upload_without_a_column_drops_its_type_and_keeps_the_declared_ones(
    manager: Manager,
) -> None:
    # The types the client inferred for the first frame stayed after upload_file, so a table
    # re-uploaded without `score` failed its job: "types names column 'score'...".
    rng = np.random.default_rng(5)
    frame = _people(60).assign(
        stage=rng.integers(1, 4, 60), score=rng.normal(0, 1, 60), sex=list("FM") * 30
    )
    runner = manager.create_runner("re_upload", seed=1)
    runner.add_table("people", frame, types={"stage": "category"})
    runner.set_parameters("people", k=10)
    with pytest.warns(UserWarning, match=r"no column\(s\) \['score'\]; their declared types"):
        runner.upload_file(
            "people", frame.drop(columns=["score"]).assign(visits=rng.integers(0, 9, 60))
        )
    types = runner.config.tables["people"].types
    assert "score" not in types
    assert types["stage"] == "category"  # declared on integer codes: not re-inferred as int
    assert types["visits"] == "int"  # a new column gets its inferred type
    runner.run(jobs_to_run=[JobKind.standard])
    avatars = runner.shuffled("people")
    assert list(avatars.columns) == ["age", "sex", "stage", "visits"]
    assert set(avatars["stage"]) <= {1, 2, 3}
