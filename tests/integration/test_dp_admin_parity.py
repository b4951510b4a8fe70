"""Lomas's admin features (issue 16 item 10) through the real server, client and admin CLI:
grants before registration, registration from a URL (a local HTTP server on loopback), imports of
Lomas's user and dataset collections with spent budgets, and the per-user may_query switch."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml
from dp_support import LOMAS, PENGUIN_CSV, PENGUIN_METADATA, manager, register, unique
from support import ServerThread, TestUser, create_user
from veil_client import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from veil_client.dp_admin import DPAdminClient
from veil_client.lomas_errors import UnauthorizedAccessException
from veil_service.cli import main as veil_main
from veil_service.storage import schema
from veil_service.storage.db import open_database

COUNT = "SELECT COUNT(*) AS n FROM df"
USER_COLLECTION = LOMAS / "collections" / "user_collection.yaml"


class _Files(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; /moved/<x> redirects to the URL in the file ``redirects/<x>``."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/moved/"):
            target = (Path(self.directory) / "redirects" / self.path[7:]).read_text()
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture()
def files(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on loopback, and its base URL."""
    root = tmp_path / "served"
    (root / "redirects").mkdir(parents=True)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Files(*a, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _leftovers(server: ServerThread) -> list[str]:
    kinds = (".csv", ".parquet", ".gz")
    return sorted(p.name for p in server.app.blobs.temp_dir.iterdir() if p.suffix in kinds)


def test_grant_before_registration_takes_effect_when_registered(
    veil_server: ServerThread, admin: TestUser, user: TestUser
) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    name = unique()
    with pytest.raises(NotFound) as typo:
        admins.grant(user.username, name, 3.0, 1e-4)
    assert "allow_unregistered" in typo.value.message and typo.value.field == "dataset"

    pending = admins.grant(user.username, name, 3.0, 1e-4, allow_unregistered=True)
    assert pending["pending"] is True
    assert (pending["initial_epsilon"], pending["spent_epsilon"]) == (3.0, 0.0)
    assert admins.list_grants(dataset=name) == [pending]
    client = manager(veil_server, user).dp(name)
    with pytest.raises(NotFound):  # nothing to see before the dataset exists
        client.get_dataset_metadata()
    with pytest.raises(InvalidArgument) as unusable:  # a name no dataset could ever have
        admins.grant(user.username, "no spaces allowed", 1.0, 0.0, allow_unregistered=True)
    assert unusable.value.field == "dataset"
    changed = admins.grant(user.username, name, 2.0, 1e-4, allow_unregistered=True)
    assert changed["initial_epsilon"] == 2.0 and changed["pending"]

    register(veil_server, name=name)
    [active] = admins.list_grants(dataset=name)
    assert (active["pending"], active["initial_epsilon"], active["initial_delta"]) == (
        False,
        2.0,
        1e-4,
    )
    assert client.get_remaining_budget().remaining_epsilon == 2.0
    answer = client.smartnoise_sql.query(COUNT, 0.5, 1e-5)
    assert answer.epsilon == 0.5 and client.get_remaining_budget().remaining_epsilon == 1.5

    other = create_user(veil_server, "user")
    admins.grant(other.username, "NOT_YET_" + name, 1.0, 0.0, allow_unregistered=True)
    revoked = admins.revoke(other.username, "NOT_YET_" + name)
    assert revoked["pending"] and admins.list_grants(dataset="NOT_YET_" + name) == []


def test_may_query_switch(veil_server: ServerThread, admin: TestUser, user: TestUser) -> None:
    admins = DPAdminClient(manager(veil_server, admin))
    dataset = register(veil_server)
    admins.grant(user.username, dataset, 2.0, 1e-3)
    client = manager(veil_server, user).dp(dataset)
    assert admins.set_may_query(user.username, False) is False

    with pytest.raises(PermissionDenied) as refused:
        client.smartnoise_sql.query(COUNT, 0.5, 1e-5)
    assert isinstance(refused.value, UnauthorizedAccessException)  # Lomas's class too
    assert refused.value.reason == "QUERIES_DISABLED"
    assert f"{user.username} may not query private data" in refused.value.message
    assert "Only an admin can turn it back on" in refused.value.message
    assert "veil admin set-may-query" in refused.value.message
    assert client.get_remaining_budget().remaining_epsilon == 2.0  # nothing charged
    # As in Lomas, what reads no private row stays open.
    assert client.smartnoise_sql.cost(COUNT, 0.5, 1e-5).epsilon == 0.5
    assert client.smartnoise_sql.query(COUNT, 0.5, 1e-5, dummy=True).epsilon == 0.5
    assert client.get_dataset_metadata()["rows"] == 344
    with pytest.raises(PermissionDenied):  # an analyst cannot switch themselves back on
        DPAdminClient(manager(veil_server, user)).set_may_query(user.username, True)
    with pytest.raises(NotFound):
        admins.set_may_query("no such user", True)

    assert admins.set_may_query(user.username, True) is True
    assert client.smartnoise_sql.query(COUNT, 0.5, 1e-5).epsilon == 0.5
    assert client.get_remaining_budget().remaining_epsilon == 1.5


def test_register_from_url(
    veil_server: ServerThread, admin: TestUser, user: TestUser, files: tuple[Path, str]
) -> None:
    root, base = files
    admins = DPAdminClient(manager(veil_server, admin))
    shutil.copy(PENGUIN_CSV, root / "penguins.csv")
    pq.write_table(pa.Table.from_pandas(pd.read_csv(PENGUIN_CSV)), root / "penguins.parquet")
    shutil.copy(PENGUIN_CSV, root / "export")  # no suffix: needs format
    digest = hashlib.sha256(PENGUIN_CSV.read_bytes()).hexdigest()

    name = unique()
    registered = admins.register_dataset_from_url(
        name, f"{base}/penguins.csv", PENGUIN_METADATA, sha256=digest
    )
    assert registered["num_rows"] == 344 and registered["source_sha256"] == digest
    assert registered["source_bytes"] == PENGUIN_CSV.stat().st_size
    admins.grant(user.username, name, 1.0, 1e-4)
    assert manager(veil_server, user).dp(name).smartnoise_sql.query(COUNT, 0.5, 1e-5).epsilon == 0.5
    from_parquet = admins.register_dataset_from_url(
        unique(), f"{base}/penguins.parquet", PENGUIN_METADATA
    )
    from_export = admins.register_dataset_from_url(
        unique(), f"{base}/export", PENGUIN_METADATA, fmt="csv"
    )
    assert from_parquet["columns"] == from_export["columns"] == registered["columns"]

    metadata = PENGUIN_METADATA.read_text()
    failing = unique()
    cases: list[tuple[type[Exception], str, dict[str, object], str]] = [
        (InvalidArgument, f"{base}/penguins.csv", {"sha256": "0" * 64}, "sha256"),
        (InvalidArgument, f"{base}/penguins.csv", {"sha256": "abc"}, "sha256"),
        (NotFound, f"{base}/missing.csv", {}, "url"),
        (ResourceExhausted, f"{base}/penguins.csv", {"max_bytes": 1000}, ""),
        (InvalidArgument, f"{base}/penguins.csv", {"max_bytes": 1 << 62}, "max_bytes"),
        (InvalidArgument, f"{base}/export", {}, "url"),  # no suffix, no format
        (InvalidArgument, f"{base}/export", {"fmt": "xlsx"}, "format"),
        (InvalidArgument, "ftp://127.0.0.1/penguins.csv", {}, "url"),
        (InvalidArgument, f"http://me:secret@127.0.0.1:{base.rsplit(':', 1)[1]}/a.csv", {}, "url"),
        # Outside the server's --dataset-url-prefix (loopback by address only).
        (PermissionDenied, base.replace("127.0.0.1", "localhost") + "/penguins.csv", {}, "url"),
    ]
    (root / "redirects" / "away.csv").write_text(
        base.replace("127.0.0.1", "localhost") + "/penguins.csv"
    )
    cases.append((PermissionDenied, f"{base}/moved/away.csv", {}, "url (redirect target)"))
    (root / "wrong.csv").write_text("a,b\n1,2\n")
    cases.append((InvalidArgument, f"{base}/wrong.csv", {}, "url"))  # no metadata column
    for error, url, options, field in cases:
        with pytest.raises(error) as caught:
            admins.register_dataset_from_url(failing, url, metadata, **options)  # type: ignore[arg-type]
        assert caught.value.field == field, (url, options, caught.value.message)
        assert "Traceback" not in caught.value.message
    with pytest.raises(ResourceExhausted) as big:
        admins.register_dataset_from_url(failing, f"{base}/penguins.csv", metadata, max_bytes=1000)
    assert "larger than 1000 bytes" in big.value.message
    with pytest.raises(AlreadyExists):
        admins.register_dataset_from_url(name, f"{base}/penguins.csv", metadata)
    # Nothing half-registered: no dataset, no download left behind.
    assert failing not in {d["name"] for d in admins.list_datasets()}
    assert _leftovers(veil_server) == []
    with pytest.raises(PermissionDenied):
        DPAdminClient(manager(veil_server, user)).register_dataset_from_url(
            unique(), f"{base}/penguins.csv", metadata
        )


def _renamed_user_collection(suffix: str) -> tuple[str, dict[str, str]]:
    """Lomas's example user collection with unique user and dataset names (values unchanged)."""
    data = yaml.safe_load(USER_COLLECTION.read_text())
    names: dict[str, str] = {}
    for entry in data["users"]:
        entry["user_name"] = f"{entry['user_name']} {suffix}"
        for budget in entry["datasets_list"]:
            names[budget["dataset_name"]] = f"{budget['dataset_name']}_{suffix}"
            budget["dataset_name"] = names[budget["dataset_name"]]
    return yaml.safe_dump(data, sort_keys=False), names


def test_import_lomas_collections_with_spent_budgets(
    veil_server: ServerThread, admin: TestUser, files: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = files
    admins = DPAdminClient(manager(veil_server, admin))
    suffix = unique("x")[2:]
    text, names = _renamed_user_collection(suffix)
    # Alice exists already in Veil (with a key, to query); the others are created.
    alice = create_user(veil_server, "user")
    text = text.replace(f"Alice {suffix}", alice.username)
    text = text.replace("may_query: true", "may_query: false", 1)  # Alice's switch: off

    imported = admins.import_lomas_users(text, email_domain="lomas.example.org")
    assert sorted(imported["created_users"]) == sorted(
        f"{n} {suffix}" for n in ("Dr. Antartica", "Dr. FSO", "Bob", "Jack", "Mr. Corona")
    )
    by_key = {(g["username"], g["dataset"]): g for g in imported["grants"]}
    assert len(by_key) == 9 and all(g["pending"] for g in by_key.values())
    penguin = by_key[(alice.username, names["PENGUIN"])]
    # Exactly as written in Lomas's YAML.
    assert (penguin["initial_epsilon"], penguin["initial_delta"]) == (5.0, 0.0005)
    assert (penguin["spent_epsilon"], penguin["spent_delta"]) == (0.2, 0.0000001)
    pums = by_key[(f"Dr. Antartica {suffix}", names["PUMS"])]
    assert (pums["initial_epsilon"], pums["spent_epsilon"], pums["spent_delta"]) == (5.0, 0.2, 1e-7)

    # Lomas's dataset collection: PENGUIN from a URL (read by the server), IRIS from a file.
    shutil.copy(PENGUIN_CSV, root / "penguins.csv")
    collection = tmp_path / "dataset_collection.yaml"
    collection.write_text(
        yaml.safe_dump(
            {
                "datasets": [
                    {
                        "dataset_name": names["PENGUIN"],
                        "dataset_access": {
                            "database_type": "PATH_DB",
                            "path": f"{base}/penguins.csv",
                        },
                        "metadata_access": {
                            "database_type": "PATH_DB",
                            "path": str(PENGUIN_METADATA),
                        },
                    },
                    {
                        "dataset_name": names["IRIS"],
                        "dataset_access": {
                            "database_type": "PATH_DB",
                            "path": str(LOMAS / "datasets" / "iris.csv"),
                        },
                        "metadata_access": {
                            "database_type": "PATH_DB",
                            "path": str(LOMAS / "metadata" / "iris_metadata.yaml"),
                        },
                    },
                ]
            }
        )
    )
    registered = admins.import_lomas_datasets(collection)
    assert [d["num_rows"] for d in registered] == [344, 150]
    after = {(g["username"], g["dataset"]): g for g in admins.list_grants(user=alice.username)}
    assert not after[(alice.username, names["PENGUIN"])]["pending"]
    assert after[(alice.username, names["PENGUIN"])]["spent_epsilon"] == 0.2
    client = manager(veil_server, alice).dp(names["PENGUIN"])
    left = client.get_remaining_budget()
    assert (left.remaining_epsilon, left.remaining_delta) == (5.0 - 0.2, 0.0005 - 0.0000001)
    with pytest.raises(PermissionDenied):  # may_query: false came with the import
        client.smartnoise_sql.query(COUNT, 0.1, 1e-5)

    # All or nothing: a bad entry anywhere imports nothing.
    bad_users = text.replace("initial_epsilon: 45.0", "initial_epsilon: -1", 1)
    with pytest.raises(InvalidArgument) as bad:
        admins.import_lomas_users(bad_users.replace(suffix, suffix + "b"), email_domain="x.org")
    assert bad.value.field.startswith("users[2].datasets_list[0]")
    with pytest.raises(NotFound):
        admins.list_grants(user=f"Dr. Antartica {suffix}b")
    with pytest.raises(NotFound) as missing:
        admins.import_lomas_users(text.replace(suffix, suffix + "c"))
    assert missing.value.field == "users[1].user_name"
    broken = yaml.safe_load(collection.read_text())
    broken["datasets"][0]["dataset_name"] = unique()
    broken["datasets"][1]["dataset_name"] = unique()
    broken["datasets"][1]["dataset_access"]["path"] = str(LOMAS / "datasets" / "titanic.csv")
    collection.write_text(yaml.safe_dump(broken))
    with pytest.raises(InvalidArgument):  # titanic has no iris column
        admins.import_lomas_datasets(collection)
    kept = {d["name"] for d in admins.list_datasets()}
    assert broken["datasets"][0]["dataset_name"] not in kept  # the first was rolled back
    broken["datasets"][1]["dataset_access"] = {"database_type": "S3_DB", "bucket": "b"}
    collection.write_text(yaml.safe_dump(broken))
    with pytest.raises(InvalidArgument) as s3:
        admins.import_lomas_datasets(collection)
    assert s3.value.field == "datasets[1].dataset_access.database_type"


def test_cli_may_query_pending_grant_and_lomas_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = str(tmp_path / "veil-data")
    base = ["--data-dir", data_dir]
    assert (
        veil_main(["admin", "create-user", *base, "--username", "ana", "--email", "a@x.org"]) == 0
    )
    grant = ["admin", "grant", *base, "--username", "ana", "--dataset", "PENGUIN"]
    assert veil_main([*grant, "--epsilon", "3", "--delta", "0.001"]) == 2  # not registered
    assert veil_main([*grant, "--epsilon", "3", "--delta", "0.001", "--allow-unregistered"]) == 0
    assert "pending until 'PENGUIN' is registered" in capsys.readouterr().out
    add = ["--name", "PENGUIN", "--path", str(PENGUIN_CSV), "--metadata", str(PENGUIN_METADATA)]
    assert veil_main(["admin", "add-dataset", *base, *add]) == 0
    switch = ["admin", "set-may-query", *base, "--username", "ana", "--value"]
    assert veil_main([*switch, "false"]) == 0
    assert "user 'ana' may_query is now False" in capsys.readouterr().out
    assert veil_main(["admin", "import-lomas-users", *base, "--yaml", str(USER_COLLECTION)]) == 2
    users_yaml = tmp_path / "users.yaml"
    users_yaml.write_text(USER_COLLECTION.read_text().replace("Alice", "ana"))
    imported = ["admin", "import-lomas-users", *base, "--yaml", str(users_yaml)]
    assert veil_main([*imported, "--email-domain", "lomas.example.org"]) == 0
    out = capsys.readouterr().out
    assert "created user 'Dr. Antartica'" in out
    assert "granted 'ana' on 'PENGUIN': epsilon 0.2/5.0, delta 1e-07/0.0005 spent" in out
    assert "pending 'Bob' on 'IRIS'" in out
    db = open_database(f"sqlite:///{(Path(data_dir) / 'veil.db').resolve()}")
    try:
        with db.connect() as conn:
            switches = conn.execute(sa.select(schema.dp_user_switches.c.may_query)).all()
            spent = conn.execute(
                sa.select(schema.grants.c.spent_epsilon, schema.grants.c.initial_epsilon)
            ).all()
    finally:
        db.dispose()
    assert switches == []  # the YAML says may_query: True for ana
    assert sorted(spent) == [(0.0, 10.0), (0.2, 5.0)]  # ana and Dr. Antartica on PENGUIN


def test_url_registration_is_off_without_prefixes(tmp_path: Path) -> None:
    from support import start_server

    server = start_server(tmp_path / "veil-data")
    try:
        boss = create_user(server, "admin")
        with pytest.raises(FailedPrecondition) as off:
            DPAdminClient(manager(server, boss)).register_dataset_from_url(
                "X", "http://127.0.0.1:1/a.csv", PENGUIN_METADATA
            )
        assert "--dataset-url-prefix" in off.value.message
    finally:
        server.stop()
