"""``Manager(config=...)`` and ``Manager(api_client=...)``, Octopize's two other ways to build a
manager, against a real server: what they connect with, and the clear refusals when they are
given beside settings they already hold (Octopize's ValueError, naming the arguments).

Before: ``TypeError: Manager.__init__() got an unexpected keyword argument 'config'`` (and
``'api_client'``); ``veil_client`` had no ``ClientConfig`` or ``ApiClient``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from support import ServerThread, create_user
from veil_client import (
    ApiClient,
    ClientConfig,
    InvalidArgument,
    Manager,
    Unauthenticated,
)


def test_config_holds_the_connection_settings(
    veil_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = create_user(veil_server, "user")
    manager = Manager(config=ClientConfig(base_url=veil_server.url, api_key=person.api_key))
    assert manager.whoami()["user"]["id"] == person.id
    assert manager.base_url == veil_server.url
    assert manager.transport.timeout == 60.0
    runner = manager.create_runner("from_config")
    runner.add_table("t", pd.DataFrame({"a": range(20), "b": range(20)}))
    assert manager.runs_api.get_run(runner.set_name).display_name == "from_config"

    # Octopize's name for the address, and a timeout, are honoured.
    timed = Manager(
        config=ClientConfig(base_api_url=veil_server.url, api_key=person.api_key, timeout=5)
    )
    assert timed.transport.timeout == 5.0 and timed.whoami()["user"]["id"] == person.id

    # What the config leaves unset comes from the environment (Octopize's priority).
    monkeypatch.setenv("VEIL_URL", veil_server.url)
    monkeypatch.setenv("VEIL_API_KEY", person.api_key)
    assert Manager(config=ClientConfig()).whoami()["user"]["id"] == person.id

    # The config's own key wins over the environment's.
    with pytest.raises(Unauthenticated):
        Manager(config=ClientConfig(api_key="veil_not_a_key")).whoami()


def test_api_client_is_shared_and_becomes_auth_client(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user")
    client = ApiClient(veil_server.url, api_key=person.api_key)
    assert client.is_using_api_key()
    first, second = Manager(api_client=client), Manager(api_client=client)
    assert first.auth_client is client and second.transport is client.transport
    assert first.base_url == veil_server.url
    assert first.whoami()["user"]["id"] == person.id
    assert client.whoami()["credential_kind"] == "api_key"
    assert first.get_health() == {"status": "SERVING"}
    assert first.get_last_jobs() == {}
    assert second.get_jobs_by_name("none") == []

    configured = ApiClient(config=ClientConfig(base_url=veil_server.url, api_key=person.api_key))
    assert Manager(api_client=configured).whoami()["user"]["id"] == person.id


def test_conflicting_arguments_are_refused_naming_them(veil_server: ServerThread) -> None:
    person = create_user(veil_server, "user")
    config = ClientConfig(base_url=veil_server.url, api_key=person.api_key)
    client = ApiClient(config=config)

    with pytest.raises(InvalidArgument, match=r"'api_client' and other parameters \(base_url\)"):
        Manager(veil_server.url, api_client=client)
    with pytest.raises(ValueError, match=r"\(api_key, config\)") as both:
        Manager(api_client=client, api_key=person.api_key, config=config)
    assert isinstance(both.value, InvalidArgument) and both.value.field == "api_client"
    with pytest.raises(InvalidArgument, match=r"'config' and other parameters") as mixed:
        Manager(base_url=veil_server.url, api_key=person.api_key, config=config)
    assert "(base_url, api_key)" in str(mixed.value) and mixed.value.field == "config"
    with pytest.raises(InvalidArgument, match=r"\(timeout, transport\)"):
        Manager(config=config, timeout=5, transport=client.transport)
    with pytest.raises(InvalidArgument, match=r"'config' and other parameters \(api_key\)"):
        ApiClient(config=config, api_key=person.api_key)

    with pytest.raises(InvalidArgument, match="root_certificates") as insecure:
        ClientConfig(base_url=veil_server.url, should_verify_ssl=False)
    assert insecure.value.field == "should_verify_ssl"
    with pytest.raises(InvalidArgument) as twice:
        ClientConfig(base_url=veil_server.url, base_api_url=veil_server.url)
    assert twice.value.field == "base_api_url"
    with pytest.raises(InvalidArgument) as no_time:
        ClientConfig(timeout=0)
    assert no_time.value.field == "timeout"
    with pytest.raises(InvalidArgument, match="HTTP") as http:
        Manager(config=ClientConfig(base_url="https://www.octopize.app", api_key="k"))
    assert http.value.field == "base_url"
