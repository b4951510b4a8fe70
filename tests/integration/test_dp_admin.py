"""Registering DP datasets and granting budgets: RPCs, the admin client and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml
from dp_support import (
    DATASETS,
    LOMAS,
    PENGUIN_CSV,
    PENGUIN_METADATA,
    grant,
    manager,
    register,
    unique,
)
from support import ServerThread, TestUser, create_user
from veil_client import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from veil_client.dp_admin import DPAdminClient
from veil_service.cli import main as veil_main
from veil_service.storage import schema
from veil_service.storage.db import open_database

PENGUIN_TYPES = [
    ("species", "string"),
    ("island", "string"),
    ("bill_length_mm", "double"),
    ("bill_depth_mm", "double"),
    ("flipper_length_mm", "double"),
    ("body_mass_g", "double"),
    ("sex", "string"),
]


def test_register_from_upload_and_from_path(
    veil_server: ServerThread, admin: TestUser, user: TestUser, tmp_path: Path
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    frame = pd.read_csv(PENGUIN_CSV)
    frame["extra"] = 1  # not in the metadata: not stored
    uploaded = admins.register_dataset(unique(), frame, PENGUIN_METADATA)
    assert uploaded["num_rows"] == 344 and uploaded["columns"] == PENGUIN_TYPES

    parquet = tmp_path / "penguins.parquet"
    pq.write_table(pa.Table.from_pandas(pd.read_csv(PENGUIN_CSV)), parquet)
    from_parquet = admins.register_dataset_from_path(
        unique(), str(parquet), PENGUIN_METADATA.read_text()
    )
    from_csv = admins.register_dataset_from_path(
        unique(), str(PENGUIN_CSV), PENGUIN_METADATA.read_text()
    )
    assert from_parquet["columns"] == from_csv["columns"] == PENGUIN_TYPES
    assert from_parquet["num_rows"] == from_csv["num_rows"] == 344
    names = {d["name"] for d in admins.list_datasets()}
    assert {from_csv["name"], from_parquet["name"]} <= names

    with pytest.raises(AlreadyExists):
        admins.register_dataset_from_path(from_csv["name"], str(PENGUIN_CSV), PENGUIN_METADATA)
    with pytest.raises(PermissionDenied):
        DPAdminClient(manager(veil_server, user)).list_datasets()


def test_every_lomas_metadata_file_loads_unchanged(
    veil_server: ServerThread, admin: TestUser
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    for stem, data_file in DATASETS.items():
        metadata = LOMAS / "metadata" / f"{stem}_metadata.yaml"
        path = str(LOMAS / "datasets" / data_file)
        if stem == "titanic":
            # The metadata is valid; the shared CSV is another Titanic file (other columns).
            with pytest.raises(InvalidArgument) as mismatch:
                admins.register_dataset_from_path(unique(stem), path, metadata)
            assert "'SibSp'" in mismatch.value.message and mismatch.value.field == "path"
            continue
        dataset = admins.register_dataset_from_path(unique(stem), path, metadata)
        assert dataset["num_rows"] > 0


@pytest.mark.parametrize(
    ("edit", "field", "reason"),
    [
        (lambda m: m.replace("rows: 344", "rows: 0"), "metadata.rows", "integer > 0"),
        (lambda m: m.replace("max_ids: 1", "max_ids: -1"), "metadata.max_ids", "integer > 0"),
        (lambda m: m.replace("row_privacy: true\n", ""), "metadata.row_privacy", "required"),
        (
            lambda m: m.replace("    cardinality: 3\n", "    cardinality: 4\n", 1),
            "metadata.columns.species.categories",
            "equal to cardinality",
        ),
        (
            lambda m: m.replace("lower: 30.0", "lower: 70.0"),
            "metadata.columns.bill_length_mm.lower",
            "smaller than or equal to upper",
        ),
        (
            lambda m: m.replace("precision: 64", "precision: 16", 1),
            "metadata.columns.bill_length_mm.precision",
            "32 or 64",
        ),
        (
            lambda m: m.replace("type: float", "type: decimal", 1),
            "metadata.columns.bill_length_mm.type",
            "must be one of",
        ),
        (lambda m: "max_ids: [", "metadata", "malformed YAML"),
    ],
)
def test_invalid_metadata_is_refused_naming_the_field(
    veil_server: ServerThread, admin: TestUser, edit: object, field: str, reason: str
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    text = edit(PENGUIN_METADATA.read_text())  # type: ignore[operator]
    with pytest.raises(InvalidArgument) as refused:
        admins.register_dataset(unique(), pd.read_csv(PENGUIN_CSV), text)
    assert refused.value.field == field
    assert field in refused.value.message and reason in refused.value.message


def test_grants_change_list_and_cannot_drop_below_spent(
    veil_server: ServerThread, admin: TestUser, user: TestUser
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    dataset = register(veil_server)
    first = admins.grant(user.username, dataset, 1.0, 1e-3)
    assert (first["initial_epsilon"], first["spent_epsilon"]) == (1.0, 0.0)
    client = manager(veil_server, user).dp(dataset)
    client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.5, 1e-5)
    with pytest.raises(InvalidArgument) as below:
        admins.grant(user.id, dataset, 0.4, 1e-3)
    assert "already spent" in below.value.message
    raised = admins.grant(user.id, dataset, 2.0, 1e-3)
    assert (raised["initial_epsilon"], raised["spent_epsilon"]) == (2.0, 0.5)
    assert client.get_remaining_budget().remaining_epsilon == pytest.approx(1.5)
    assert [g["username"] for g in admins.list_grants(dataset=dataset)] == [user.username]
    assert dataset in {g["dataset"] for g in admins.list_grants(user=user.username)}
    with pytest.raises(InvalidArgument):
        admins.grant(user.id, dataset, -1.0, 0.0)
    with pytest.raises(NotFound):
        admins.grant("nobody_here", dataset, 1.0, 0.0)

    admins.delete_dataset(dataset)
    with pytest.raises(NotFound):
        client.get_remaining_budget()
    assert dataset not in {d["name"] for d in admins.list_datasets()}


def test_revoking_one_grant_takes_metadata_dummy_and_queries_with_it(
    veil_server: ServerThread, admin: TestUser, user: TestUser
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    other = create_user(veil_server, "user")
    dataset = register(veil_server)
    admins.grant(user.username, dataset, 2.0, 1e-3)
    admins.grant(other.username, dataset, 1.0, 0.0)
    client = manager(veil_server, user).dp(dataset)
    client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.5, 1e-5)
    assert len(client.get_dummy_dataset(nb_rows=5)) == 5

    revoked = admins.revoke(user.username, dataset)
    assert (revoked["username"], revoked["dataset"]) == (user.username, dataset)
    assert (revoked["initial_epsilon"], revoked["spent_epsilon"]) == (2.0, 0.5)
    for call in (
        client.get_dataset_metadata,
        lambda: client.get_dummy_dataset(nb_rows=5),
        lambda: client.smartnoise_sql.query("SELECT COUNT(*) AS n FROM df", 0.1, 1e-5),
        client.get_remaining_budget,
    ):
        with pytest.raises(NotFound):
            call()
    assert [g["username"] for g in admins.list_grants(dataset=dataset)] == [other.username]
    assert manager(veil_server, other).dp(dataset).get_dataset_metadata()["rows"] == 344

    with pytest.raises(NotFound) as again:
        admins.revoke(user.username, dataset)
    assert f"{user.username} holds no grant on {dataset}" in again.value.message
    with pytest.raises(NotFound):
        admins.revoke(user.username, "no_such_dataset")
    with pytest.raises(PermissionDenied):
        DPAdminClient(manager(veil_server, other)).revoke(other.username, dataset)

    regranted = admins.grant(user.username, dataset, 1.0, 0.0)
    assert (regranted["initial_epsilon"], regranted["spent_epsilon"]) == (1.0, 0.0)
    assert client.get_remaining_budget().remaining_epsilon == pytest.approx(1.0)


def test_cli_add_dataset_and_grant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "veil-data"
    assert (
        veil_main(
            [
                "admin",
                "create-user",
                "--data-dir",
                str(data_dir),
                "--username",
                "ana",
                "--email",
                "ana@example.org",
            ]
        )
        == 0
    )
    assert (
        veil_main(
            [
                "admin",
                "add-dataset",
                "--data-dir",
                str(data_dir),
                "--name",
                "PENGUIN",
                "--path",
                str(PENGUIN_CSV),
                "--metadata",
                str(PENGUIN_METADATA),
            ]
        )
        == 0
    )
    assert (
        veil_main(
            [
                "admin",
                "grant",
                "--data-dir",
                str(data_dir),
                "--username",
                "ana",
                "--dataset",
                "PENGUIN",
                "--epsilon",
                "10",
                "--delta",
                "0.005",
            ]
        )
        == 0
    )
    assert "registered dataset 'PENGUIN': 344 rows" in capsys.readouterr().out
    db = open_database(f"sqlite:///{(data_dir / 'veil.db').resolve()}")
    try:
        with db.connect() as conn:
            row = conn.execute(
                sa.select(schema.grants.c.initial_epsilon, schema.grants.c.initial_delta)
            ).one()
    finally:
        db.dispose()
    assert tuple(row) == (10.0, 0.005)
    assert (
        veil_main(
            [
                "admin",
                "add-dataset",
                "--data-dir",
                str(data_dir),
                "--name",
                "PENGUIN",
                "--path",
                str(PENGUIN_CSV),
                "--metadata",
                str(PENGUIN_METADATA),
            ]
        )
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    revoke = ["admin", "revoke", "--data-dir", str(data_dir), "--username", "ana"]
    assert veil_main([*revoke, "--dataset", "PENGUIN"]) == 0
    assert "revoked 'ana' on 'PENGUIN'" in capsys.readouterr().out
    assert veil_main([*revoke, "--dataset", "PENGUIN"]) != 0
    assert "ana holds no grant on PENGUIN" in capsys.readouterr().err
    db = open_database(f"sqlite:///{(data_dir / 'veil.db').resolve()}")
    try:
        with db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.grants)).scalar() == 0
    finally:
        db.dispose()


def test_upload_of_a_user_without_grant_is_invisible(
    veil_server: ServerThread, user: TestUser
) -> None:
    dataset = register(veil_server)
    with pytest.raises(NotFound):
        manager(veil_server, user).dp(dataset).get_dataset_metadata()
    grant(veil_server, user, dataset, 1.0, 0.0)
    assert manager(veil_server, user).dp(dataset).get_dataset_metadata()["rows"] == 344


def test_an_admin_changes_a_datasets_metadata_but_not_its_stored_columns(
    veil_server: ServerThread, admin: TestUser, user: TestUser
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    name = register(veil_server)
    grant(veil_server, user, name, 2.0, 1e-4)
    text = PENGUIN_METADATA.read_text()
    wider = text.replace("lower: 30.0\n    upper: 65.0", "lower: 25.0\n    upper: 70.0")
    assert wider != text
    changed = admins.update_metadata(name, wider)
    bounds = json.loads(changed["metadata_json"])["columns"]["bill_length_mm"]
    assert (bounds["lower"], bounds["upper"]) == (25.0, 70.0)
    seen = manager(veil_server, user).dp(name).get_dataset_metadata()
    assert seen["columns"]["bill_length_mm"]["upper"] == 70.0  # analysts see it at once

    # The stored table stays as registered: a type, a column or the order may not change.
    retyped = wider.replace(
        "bill_length_mm:\n    type: float\n    precision: 64",
        "bill_length_mm:\n    type: float\n    precision: 32",
    )
    with pytest.raises(InvalidArgument) as refused:
        admins.update_metadata(name, retyped)
    assert refused.value.field == "metadata.columns.bill_length_mm"
    assert "double" in refused.value.message and "float" in refused.value.message
    without_sex = yaml.safe_load(wider)
    del without_sex["columns"]["sex"]
    with pytest.raises(InvalidArgument) as refused:
        admins.update_metadata(name, yaml.safe_dump(without_sex))
    assert (
        refused.value.field == "metadata.columns" and "register it again" in refused.value.message
    )
    with pytest.raises(InvalidArgument) as refused:  # validated as at registration
        admins.update_metadata(name, wider.replace("upper: 70.0", "upper: 20.0"))
    assert "bill_length_mm" in refused.value.field
    kept = json.loads({d["name"]: d for d in admins.list_datasets()}[name]["metadata_json"])
    assert kept["columns"]["bill_length_mm"]["upper"] == 70.0  # nothing half-written

    with pytest.raises(NotFound):
        admins.update_metadata(unique(), wider)
    with pytest.raises(PermissionDenied):
        DPAdminClient(manager(veil_server, user)).update_metadata(name, text)
    with veil_server.app.db.connect() as conn:
        events = conn.execute(
            sa.select(schema.audit_events.c.event, schema.audit_events.c.actor_id).where(
                schema.audit_events.c.details_json.contains(name)
            )
        ).all()
    assert [tuple(e) for e in events].count(("dataset.metadata_changed", admin.id)) == 1
