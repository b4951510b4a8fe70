"""Importing a Lomas user collection (Lomas's ``add_users_via_yaml``): users, their ``may_query``
switches and their budgets with what was already spent, all or nothing.

The format is Lomas's ``user_collection.yaml``::

    users:
    - user_name: Alice
      may_query: True
      datasets_list:
      - dataset_name: IRIS
        initial_epsilon: 10.0
        initial_delta: 0.0001
        total_spent_epsilon: 1.0
        total_spent_delta: 0.000001

Budgets are stored exactly as written (spent included), so a user moved from Lomas has what
Lomas says they had left. A budget on a dataset not registered yet becomes a pending grant
(``pending_grants``), which carries the spent part into the grant when the dataset is
registered. Everything runs in one transaction: an error anywhere (named by its YAML path,
e.g. ``users[1].datasets_list[0].initial_epsilon``) imports nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from veil_service.accounts import users
from veil_service.dpquery import grants, query_switch
from veil_service.errors import InvalidArgumentError, NotFoundError
from veil_service.yaml_limits import METADATA_LIMITS, load_documents


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes:
        created_users: Usernames created (no password yet).
        grants: Grants set, pending ones included, in the YAML's order.
    """

    created_users: tuple[str, ...]
    grants: tuple[grants.Grant, ...]


def _number(value: Any, where: str, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{where} must be a number; got {value!r}.", field=where)
    return float(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{where} must be a mapping.", field=where)
    return value


def email_for(username: str, domain: str) -> str:
    """The email of an imported user: the name lowercased, other characters as dots."""
    local = re.sub(r"[^a-z0-9]+", ".", username.lower()).strip(".") or "user"
    return f"{local}@{domain}"


def parse_users(text: str) -> list[dict[str, Any]]:
    """The ``users`` list of a Lomas user collection, checked entry by entry.

    Raises:
        InvalidArgumentError: malformed YAML or a bad entry (its YAML path is the field).
    """
    documents = load_documents(text, field="users_yaml", limits=METADATA_LIMITS)
    root = _mapping(documents[0] if documents else None, "users_yaml")
    entries = root.get("users")
    if not isinstance(entries, list):
        raise InvalidArgumentError(
            "users_yaml must have a 'users' list (Lomas's user collection format).",
            field="users_yaml.users",
        )
    parsed = []
    for i, raw in enumerate(entries):
        where = f"users[{i}]"
        entry = _mapping(raw, where)
        name = entry.get("user_name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(
                f"{where}.user_name must be a name.", field=f"{where}.user_name"
            )
        may = entry.get("may_query", True)
        if not isinstance(may, bool):
            raise InvalidArgumentError(
                f"{where}.may_query must be true or false.", field=f"{where}.may_query"
            )
        budgets = entry.get("datasets_list") or []
        if not isinstance(budgets, list):
            raise InvalidArgumentError(
                f"{where}.datasets_list must be a list.", field=f"{where}.datasets_list"
            )
        rows = []
        for j, raw_budget in enumerate(budgets):
            at = f"{where}.datasets_list[{j}]"
            budget = _mapping(raw_budget, at)
            dataset = budget.get("dataset_name")
            if not isinstance(dataset, str) or not dataset:
                raise InvalidArgumentError(
                    f"{at}.dataset_name must be a dataset name.", field=f"{at}.dataset_name"
                )
            rows.append(
                {
                    "dataset": dataset,
                    "epsilon": _number(budget.get("initial_epsilon"), f"{at}.initial_epsilon"),
                    "delta": _number(budget.get("initial_delta"), f"{at}.initial_delta"),
                    "spent_epsilon": _number(
                        budget.get("total_spent_epsilon"), f"{at}.total_spent_epsilon", 0.0
                    ),
                    "spent_delta": _number(
                        budget.get("total_spent_delta"), f"{at}.total_spent_delta", 0.0
                    ),
                    "where": at,
                }
            )
        parsed.append({"user_name": name, "may_query": may, "budgets": rows, "where": where})
    return parsed


def import_users(
    conn: sa.Connection,
    text: str,
    *,
    email_domain: str = "",
    actor_id: str | None = None,
    peer: str = "",
) -> ImportResult:
    """Import a Lomas user collection in the caller's transaction (see module doc).

    Raises:
        InvalidArgumentError: a bad entry, or a budget below its spent part (the entry's YAML
            path is named).
        NotFoundError: a user that does not exist, with no ``email_domain`` to create it.
    """
    entries = parse_users(text)
    created: list[str] = []
    done: list[grants.Grant] = []
    for entry in entries:
        name, where = entry["user_name"], entry["where"]
        try:
            users.find_user(conn, name)
        except NotFoundError:
            if not email_domain:
                raise NotFoundError(
                    f"{where}.user_name: no Veil user {name!r}; create it first, or set "
                    "email_domain to create missing users.",
                    field=f"{where}.user_name",
                ) from None
            users.create_user(
                conn,
                username=name,
                email=email_for(name, email_domain),
                actor_id=actor_id,
                peer=peer,
            )
            created.append(name)
        query_switch.set_may_query(
            conn, user=name, value=entry["may_query"], actor_id=actor_id, peer=peer
        )
        for budget in entry["budgets"]:
            try:
                done.append(
                    grants.grant_access(
                        conn,
                        user=name,
                        dataset=budget["dataset"],
                        epsilon=budget["epsilon"],
                        delta=budget["delta"],
                        allow_unregistered=True,
                        spent_epsilon=budget["spent_epsilon"],
                        spent_delta=budget["spent_delta"],
                        actor_id=actor_id,
                        peer=peer,
                    )
                )
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"{budget['where']}: {exc.message}", field=budget["where"]
                ) from None
    return ImportResult(tuple(created), tuple(done))
