"""The DP library names are spelled once per side and agree across the wire.

The server spells them in ``engine_contract/dp_requests.py`` (``LIBRARY`` of each request
dataclass), the client in ``veil_client/api/dpquery.py`` (``LIBRARY`` of each query dataclass),
and both must be the member names of ``QuerySpec``'s ``library`` oneof, which is what travels.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import get_args

from veil.v1 import dpquery_pb2
from veil_client.api import dpquery as client_queries
from veil_service.api import dpquery_convert
from veil_service.engine.dp import dispatch
from veil_service.engine_contract import dp_requests

CLIENT_QUERIES = (
    client_queries.SmartnoiseSqlQuery,
    client_queries.OpenDpQuery,
    client_queries.DiffprivlibQuery,
    client_queries.SmartnoiseSynthQuery,
)


def _oneof_members() -> list[str]:
    oneof = dpquery_pb2.QuerySpec.DESCRIPTOR.oneofs_by_name["library"]
    return [member.name for member in oneof.fields]


def test_the_server_names_are_the_proto_oneof_members() -> None:
    members = _oneof_members()
    assert list(get_args(dp_requests.LibraryName)) == members
    assert list(dp_requests.REQUEST_TYPES) == members
    assert list(dispatch.MODULES) == members
    assert list(dpquery_convert._REQUESTS) == members


def test_the_client_names_are_the_proto_oneof_members() -> None:
    assert [query.LIBRARY for query in CLIENT_QUERIES] == _oneof_members()


def test_each_library_name_leads_to_an_engine_module() -> None:
    for library, module in dispatch.MODULES.items():
        assert find_spec(module) is not None, library
