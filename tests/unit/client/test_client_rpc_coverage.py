"""Every RPC of every service the client talks to has one typed method in veil_client.api, and
the facades (Manager, Runner, DP client) never touch generated code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from veil.v1 import admin_pb2, auth_pb2, dpquery_pb2, runs_pb2
from veil_client.api.admin import AdminApi
from veil_client.api.auth import AuthApi
from veil_client.api.dpquery import DPQueryApi
from veil_client.api.runs import RunsApi

CLIENT = Path(__file__).resolve().parents[3] / "client" / "veil_client"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(
    ("service", "api"),
    [
        (auth_pb2.DESCRIPTOR.services_by_name["AuthService"], AuthApi),
        (runs_pb2.DESCRIPTOR.services_by_name["RunsService"], RunsApi),
        (dpquery_pb2.DESCRIPTOR.services_by_name["DPQueryService"], DPQueryApi),
        (admin_pb2.DESCRIPTOR.services_by_name["AdminService"], AdminApi),
    ],
    ids=lambda v: getattr(v, "name", getattr(v, "__name__", "")),
)
def test_every_rpc_has_a_method(service: object, api: type) -> None:
    rpcs = [m.name for m in service.methods]  # type: ignore[attr-defined]
    missing = [rpc for rpc in rpcs if not callable(getattr(api, _snake(rpc), None))]
    assert rpcs and missing == []


FACADES = ["manager.py", "runner.py", "dp_client.py", "dp_admin.py", "auth_client.py"]


@pytest.mark.parametrize("facade", FACADES)
def test_facades_import_no_generated_code_and_no_grpc(facade: str) -> None:
    tree = ast.parse((CLIENT / facade).read_text())
    imported = {
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    offenders = sorted(
        name for name in imported if "_pb2" in name or name.split(".")[0] in {"grpc", "veil"}
    )
    assert offenders == []
