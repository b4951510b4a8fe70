"""Defect 7: a bad ImportYaml cannot poison the account (issue 19).

The attack: ``k: 1000000000000`` was committed, and from then on GetRun, GetConfig and ListRuns
of every run of that user answered INTERNAL (the value does not fit the contract's int32). Now
the configuration is validated in full before anything is committed, and migration 0002 repairs
configurations an older server already stored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from support import FIXTURES, create_user, start_server
from veil.v1 import runs_pb2, runs_pb2_grpc
from veil_service.storage import schema

SINGLE = (FIXTURES / "avatar" / "yaml" / "single.yaml").read_text()
POISON = re.sub(r"\bk: \d+", "k: 1000000000000", SINGLE)


def test_out_of_range_values_are_refused_before_commit(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        user = create_user(server)
        key = (("x-api-key", user.api_key),)
        with grpc.insecure_channel(server.url) as channel:
            runs = runs_pb2_grpc.RunsServiceStub(channel)
            run = runs.CreateRun(runs_pb2.CreateRunRequest(display_name="p"), metadata=key).run
            with pytest.raises(grpc.RpcError) as refused:
                runs.ImportYaml(
                    runs_pb2.ImportYamlRequest(run_id=run.id, yaml=POISON), metadata=key
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "avatarization.k" in refused.value.details()
            runs.GetRun(runs_pb2.GetRunRequest(run_id=run.id), metadata=key)
            runs.GetConfig(runs_pb2.GetConfigRequest(run_id=run.id), metadata=key)
            runs.ListRuns(runs_pb2.ListRunsRequest(), metadata=key)
    finally:
        server.stop()


def test_configs_stored_by_an_older_server_are_repaired(tmp_path: Path) -> None:
    from alembic import command
    from veil_service.storage.db import alembic_config, create_db_engine

    server = start_server(tmp_path / "data")
    try:
        user = create_user(server)
        key = (("x-api-key", user.api_key),)
        with grpc.insecure_channel(server.url) as channel:
            runs = runs_pb2_grpc.RunsServiceStub(channel)
            run = runs.CreateRun(runs_pb2.CreateRunRequest(display_name="p"), metadata=key).run
            runs.ImportYaml(runs_pb2.ImportYamlRequest(run_id=run.id, yaml=SINGLE), metadata=key)
        url = server.settings.effective_database_url
    finally:
        server.stop()
    # What the old server committed: k beyond int32, stored as the database's current revision.
    engine = create_db_engine(url)
    with engine.begin() as conn:
        stored = json.loads(
            conn.execute(
                sa.select(schema.runs.c.config_json).where(schema.runs.c.id == run.id)
            ).scalar_one()
        )
        stored["tables"][0]["avatarization"]["k"] = 10**12
        conn.execute(
            sa.update(schema.runs)
            .where(schema.runs.c.id == run.id)
            .values(config_json=json.dumps(stored))
        )
    # Later migrations' schema changes are undone too (0003 adds columns): the restart replays
    # every migration after 0001 as it would on that server's database.
    command.downgrade(alembic_config(engine), "0001")
    engine.dispose()

    restarted = start_server(tmp_path / "data")
    try:
        with grpc.insecure_channel(restarted.url) as channel:
            runs = runs_pb2_grpc.RunsServiceStub(channel)
            config = runs.GetConfig(runs_pb2.GetConfigRequest(run_id=run.id), metadata=key).config
            runs.ListRuns(runs_pb2.ListRunsRequest(), metadata=key)
        assert not config.tables[0].avatarization.HasField("k")
    finally:
        restarted.stop()
