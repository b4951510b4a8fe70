"""TLS: `grpcs://` reaches a server started with a certificate; plaintext does not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support import create_user, start_server
from veil_client import Manager, Unavailable


def test_grpcs_with_a_private_ca(tmp_path: Path) -> None:
    assert shutil.which("openssl"), "this test needs the openssl command (apt-get install openssl)"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = start_server(tmp_path / "data", tls_cert=str(cert), tls_key=str(key))
    try:
        user = create_user(server)
        secure = Manager(
            base_url=f"grpcs://localhost:{server.port}",
            api_key=user.api_key,
            root_certificates=cert.read_bytes(),
            timeout=10,
        )
        assert secure.whoami()["user"]["username"] == user.username
        with pytest.raises(Unavailable, match="expects TLS") as refused:
            Manager(base_url=f"grpc://127.0.0.1:{server.port}", api_key=user.api_key, timeout=3)
        assert "failed to connect" not in refused.value.message  # one sentence, not gRPC's
        secure.close()
    finally:
        server.stop()
