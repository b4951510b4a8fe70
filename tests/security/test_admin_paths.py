"""Defect 10: server-side dataset paths stay inside the configured roots; nothing is echoed.

The attack: RegisterDatasetFromPath echoed the first line of any readable ``*.csv`` (a symlink
to /etc/shadow printed its first entry). Now the RPC reads only files under the server's dataset
roots (``--dataset-root``, ``VEIL_DATASET_ROOTS``), resolved with symlinks followed, and its
errors never quote the file. Metadata with NaN or infinite bounds is refused too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from dp_support import LOMAS, PENGUIN_METADATA
from support import ServerThread, create_user, start_server
from veil.v1 import admin_pb2, admin_pb2_grpc

SECRET_LINE = "root:$6$s3cr3t-hash:19000:0:99999:7:::"


@pytest.fixture(scope="module")
def confined(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Path]]:
    root = tmp_path_factory.mktemp("datasets")
    outside = tmp_path_factory.mktemp("outside")
    (outside / "shadow.csv").write_text(SECRET_LINE + "\n")
    (root / "escape.csv").symlink_to(outside / "shadow.csv")
    (root / "garbled.csv").write_text(SECRET_LINE + "\n")
    (root / "penguins.csv").write_bytes((LOMAS / "datasets" / "penguins.csv").read_bytes())
    server = start_server(tmp_path_factory.mktemp("veil-paths"), dataset_roots=(str(root),))
    yield server, root
    server.stop()


def _register(
    server: ServerThread, path: str, metadata: str
) -> admin_pb2.RegisterDatasetFromPathResponse:
    admin = create_user(server, "admin")
    with grpc.insecure_channel(server.url) as channel:
        return admin_pb2_grpc.AdminServiceStub(channel).RegisterDatasetFromPath(
            admin_pb2.RegisterDatasetFromPathRequest(
                name=f"ds_{abs(hash(path)) % 10**8}", path=path, metadata_yaml=metadata
            ),
            metadata=(("x-api-key", admin.api_key),),
            timeout=60,
        )


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ("outside", grpc.StatusCode.PERMISSION_DENIED),
        ("escape.csv", grpc.StatusCode.PERMISSION_DENIED),
        ("../outside/shadow.csv", grpc.StatusCode.PERMISSION_DENIED),
        ("garbled.csv", grpc.StatusCode.INVALID_ARGUMENT),
        ("", grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_paths_outside_the_roots_are_refused_and_nothing_is_echoed(
    confined: tuple[ServerThread, Path], where: str, code: grpc.StatusCode
) -> None:
    server, root = confined
    path = str(root / where) if where else ""
    if where == "outside":
        path = next(str(p / "shadow.csv") for p in root.parent.glob("outside*"))
    with pytest.raises(grpc.RpcError) as refused:
        _register(server, path, PENGUIN_METADATA.read_text())
    assert refused.value.code() == code, refused.value.details()
    assert "s3cr3t" not in refused.value.details() and "root:" not in refused.value.details()


def test_a_file_inside_a_root_registers(confined: tuple[ServerThread, Path]) -> None:
    server, root = confined
    answer = _register(server, str(root / "penguins.csv"), PENGUIN_METADATA.read_text())
    assert answer.dataset.name.startswith("ds_")


def test_without_roots_no_path_is_read() -> None:
    from veil_service.dpquery.registration import confine_path
    from veil_service.errors import FailedPreconditionError

    with pytest.raises(FailedPreconditionError) as refused:
        confine_path(str(LOMAS / "datasets" / "penguins.csv"), ())
    assert "--dataset-root" in refused.value.message


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf"])
def test_metadata_with_non_finite_bounds_is_refused(
    confined: tuple[ServerThread, Path], bound: str
) -> None:
    server, root = confined
    text = PENGUIN_METADATA.read_text().replace("lower: 30.0", f"lower: {bound}", 1)
    assert text != PENGUIN_METADATA.read_text()
    with pytest.raises(grpc.RpcError) as refused:
        _register(server, str(root / "penguins.csv"), text)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "lower" in refused.value.details()
