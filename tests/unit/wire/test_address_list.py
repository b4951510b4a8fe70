"""Address lists: one client over several servers (docs/scale.md)."""

from __future__ import annotations

import pytest
from veil_wire.channel import AddressError, address_list_target


def test_a_list_resolves_to_grpcs_static_form_named_after_its_first_host() -> None:
    target, name = address_list_target("localhost:5001, 127.0.0.1:5002,127.0.0.1:5001")
    assert target == "ipv4:127.0.0.1:5001,127.0.0.1:5002"
    assert name == "localhost"


def test_ipv6_only_lists_use_the_ipv6_form() -> None:
    assert address_list_target("[::1]:5001,[::1]:5002")[0] == "ipv6:[::1]:5001,[::1]:5002"


@pytest.mark.parametrize("bad", ["localhost", "localhost:http,localhost:5002", ":5001,a:1"])
def test_an_item_without_a_port_is_refused_with_the_form_to_use(bad: str) -> None:
    with pytest.raises(AddressError, match="host:port"):
        address_list_target(bad)


def test_a_host_that_does_not_resolve_is_named() -> None:
    with pytest.raises(AddressError, match="does not resolve"):
        address_list_target("localhost:5001,no-such-host.invalid:5002")
