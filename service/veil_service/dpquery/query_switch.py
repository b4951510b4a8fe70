"""The per-user ``may_query`` switch (Lomas's ``set_may_query``): an admin stops a user from
running queries on private data, and starts them again.

Lomas uses its ``may_query`` flag twice: as the admin's switch and as a per-user lock held while
a query runs. Veil needs no lock (a charge is one conditional write, ``budget.charge``), so the
switch here is only the admin's. As in Lomas, it gates private queries only: cost estimates,
metadata and dummy queries read no private row and stay open. The check runs inside the charging
transaction, so an admin who turns the switch off stops every query not charged yet.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from veil_service.accounts import audit, users
from veil_service.errors import PermissionDeniedError, Reason
from veil_service.storage import schema


def may_query(conn: sa.Connection, user_id: str) -> bool:
    """Whether the user may run queries on private data (no row: yes)."""
    value = conn.execute(
        sa.select(schema.dp_user_switches.c.may_query).where(
            schema.dp_user_switches.c.user_id == user_id
        )
    ).scalar()
    return True if value is None else bool(value)


def disabled(username: str) -> PermissionDeniedError:
    """The error of a query by a user whose switch is off: says who can turn it back on."""
    return PermissionDeniedError(
        f"{username} may not query private data: an admin turned their may_query switch off. "
        f"Only an admin can turn it back on (veil admin set-may-query --username '{username}' "
        "--value true, or DPAdminClient.set_may_query). Cost estimates, metadata and dummy "
        "queries still work.",
        field="may_query",
        reason=Reason.QUERIES_DISABLED,
    )


def ensure_may_query(conn: sa.Connection, user_id: str, username: str) -> None:
    """Refuse a private query of a user whose switch is off.

    Raises:
        PermissionDeniedError: the switch is off (reason ``QUERIES_DISABLED``).
    """
    if not may_query(conn, user_id):
        raise disabled(username)


def set_may_query(
    conn: sa.Connection,
    *,
    user: str,
    value: bool,
    actor_id: str | None = None,
    peer: str = "",
) -> tuple[str, bool]:
    """Turn a user's switch on or off; returns (username, the new value).

    Raises:
        NotFoundError: no such user.
    """
    target = users.find_user(conn, user)
    table = schema.dp_user_switches
    conn.execute(sa.delete(table).where(table.c.user_id == target.id))
    if not value:
        conn.execute(
            sa.insert(table).values(
                user_id=target.id, may_query=False, changed_by=actor_id, changed_at=time.time()
            )
        )
    audit.record(
        conn, "dp.may_query_set", user_id=target.id, actor_id=actor_id, peer=peer, may_query=value
    )
    return target.username, value
