"""What a table's columns are and come back as, through the real server and client: the types
the client declares, the dtypes the avatars keep, and the refusals of what cannot be typed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import ServerThread, TestUser
from veil_client import InvalidArgument, Manager
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
