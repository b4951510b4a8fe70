"""What a table's columns are and come back as, through the real server and client: the types
the client declares, the dtypes the avatars keep, and the refusals of what cannot be typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
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
