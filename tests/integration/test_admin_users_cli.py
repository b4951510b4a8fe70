"""``veil admin`` user commands, on a data dir and through a running server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fast_hashing import fast_password_hashing  # noqa: F401 - autouse fixture
from support import ServerThread, create_user
from support import TestUser as Person
from veil_service.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_user_commands_on_a_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = ("--data-dir", str(tmp_path))
    assert _run(capsys, "admin", "bootstrap", *target)[0] == 0
    code, lines, _ = _run(
        capsys,
        "admin",
        "create-user",
        *target,
        "--username",
        "ada",
        "--email",
        "ada@example.org",
        "--password",
        "Ada-Lovelace-1815",
    )
    assert code == 0
    code, lines, _ = _run(
        capsys, "admin", "create-api-key", *target, "--username", "ada", "--name", "laptop"
    )
    assert code == 0 and lines[-1].startswith("veil_")

    code, lines, _ = _run(capsys, "admin", "list-users", *target, "--json")
    listed = [json.loads(line) for line in lines]
    assert [u["username"] for u in listed] == ["ada", "admin"]
    ada = listed[0]

    code, lines, _ = _run(capsys, "admin", "set-role", *target, "--user", "ada", "--role", "admin")
    assert code == 0 and lines[0].split("\t")[3] == "admin"

    code, lines, _ = _run(capsys, "admin", "list-keys", *target, "--user", ada["id"], "--json")
    key = json.loads(lines[0])
    assert key["name"] == "laptop" and key["revoked_at"] == ""
    code, lines, _ = _run(capsys, "admin", "revoke-key", *target, "--key-id", key["id"], "--json")
    assert json.loads(lines[0])["revoked_at"]

    code, lines, _ = _run(capsys, "admin", "disable-user", *target, "--user", "ada")
    assert code == 0 and lines[0].split("\t")[4] == "False"
    code, _, err = _run(capsys, "admin", "disable-user", *target, "--user", "admin")
    assert code == 2 and "last active admin" in err
    code, _, err = _run(capsys, "admin", "disable-user", *target, "--user", "nobody")
    assert code == 2 and "no user" in err
    code, lines, _ = _run(capsys, "admin", "enable-user", *target, "--user", "ada")
    assert code == 0 and lines[0].split("\t")[4] == "True"

    code, lines, _ = _run(capsys, "admin", "audit", *target, "--user-id", ada["id"], "--json")
    events = [json.loads(line)["event"] for line in lines]
    assert events == [
        "user.enabled",
        "user.disabled",
        "api_key.revoked",
        "user.role_changed",
        "api_key.created",
        "user.created",
    ]
    assert all(json.loads(line)["peer"] == "cli" for line in lines)


def test_user_commands_through_a_running_server(
    veil_server: ServerThread, admin: Person, capsys: pytest.CaptureFixture[str]
) -> None:
    person = create_user(veil_server, "user")
    remote = ("--url", veil_server.url, "--api-key", admin.api_key)
    code, lines, _ = _run(
        capsys, "admin", "list-keys", *remote, "--user", person.username, "--json"
    )
    assert code == 0
    key_id = json.loads(lines[0])["id"]
    code, lines, _ = _run(capsys, "admin", "revoke-key", *remote, "--key-id", key_id)
    assert code == 0
    code, lines, _ = _run(capsys, "admin", "disable-user", *remote, "--user", person.id)
    assert code == 0 and lines[0].split("\t")[4] == "False"
    code, lines, _ = _run(capsys, "admin", "enable-user", *remote, "--user", person.username)
    assert code == 0 and lines[0].split("\t")[4] == "True"
    code, lines, _ = _run(capsys, "admin", "audit", *remote, "--user-id", person.id, "--json")
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events[:3]] == ["user.enabled", "user.disabled", "api_key.revoked"]
    assert events[0]["actor_id"] == admin.id

    as_user = ("--url", veil_server.url, "--api-key", create_user(veil_server, "user").api_key)
    code, _, err = _run(capsys, "admin", "list-users", *as_user)
    assert code == 2 and "admin role" in err
