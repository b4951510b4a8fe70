"""``veil serve`` takes its SMTP settings from flags and ``VEIL_SMTP_*`` (the outside interface)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_inbox import Mailbox, token_in
from veil_client import Manager
from veil_service.cli import main


@pytest.fixture()
def mailbox() -> Iterator[Mailbox]:
    inbox = Mailbox().start()
    yield inbox
    inbox.stop()


def test_veil_serve_sends_reset_tokens_through_the_configured_smtp_server(
    tmp_path: Path, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "admin",
                "create-user",
                "--data-dir",
                str(tmp_path),
                "--username",
                "grace",
                "--email",
                "grace@example.org",
            ]
        )
        == 0
    )
    capsys.readouterr()
    env = {**os.environ, "VEIL_SMTP_PORT": str(mailbox.port), "VEIL_SMTP_FROM": "ops@veil.test"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "veil_service.cli",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--smtp-host",
            mailbox.host,
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"listening on [^:]+:(\d+)", line)
        assert found, f"unexpected first line: {line!r}"
        manager = Manager(base_url=f"localhost:{found.group(1)}")
        manager.forgotten_password("grace@example.org")
        message = mailbox.wait_for("grace@example.org", timeout=20)[0]
        assert message["From"] == "ops@veil.test"
        assert token_in(message)
        assert not (tmp_path / "outbox").exists()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        if server.stdout is not None:
            server.stdout.close()
