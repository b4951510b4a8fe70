"""`veil serve --web-port` as an operator starts it: the web application on its own port, the
bootstrap admin signs in with their key, and SIGTERM stops both servers cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from web_support import WebSession

VEIL = [sys.executable, "-m", "veil_service.cli"]


def _bootstrap(data_dir: Path) -> str:
    done = subprocess.run(
        [*VEIL, "admin", "bootstrap", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_veil_serve_with_a_web_port_serves_the_app_to_the_admin(tmp_path: Path) -> None:
    key = _bootstrap(tmp_path)
    process = subprocess.Popen(
        [*VEIL, "serve", "--data-dir", str(tmp_path), "--port", "0", "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "listening on 127.0.0.1:" in process.stdout.readline()
        announced = process.stdout.readline()
        found = re.fullmatch(r"web application on http://127\.0\.0\.1:(\d+)/\n", announced)
        assert found, announced
        session = WebSession(int(found.group(1)))
        try:
            assert session.login_with_key(key).status_code == 303
            users = session.get("/admin/users")
            assert users.status_code == 200 and ">admin<" in users.text
            assert "content-security-policy" in users.headers
        finally:
            session.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert process.stdout is not None
        process.stdout.close()


def test_veil_serve_without_a_web_port_serves_no_web_application(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*VEIL, "serve", "--data-dir", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "listening on 127.0.0.1:" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert process.stdout is not None
        with process.stdout:
            assert "web application" not in process.stdout.read()
