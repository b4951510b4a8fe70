"""``veil admin`` subcommands for users beyond bootstrap/create-user/create-api-key.

``list-users``, ``disable-user``, ``enable-user``, ``set-role``, ``list-keys``, ``revoke-key`` and
``audit`` act on the data dir's database (``--data-dir`` / ``--database-url``), or on a running
server when ``--url`` is given (with an admin's ``--api-key`` or ``VEIL_API_KEY``). Output is one
tab-separated line per item, or JSON lines with ``--json``; never a secret.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from veil_service.admin_cli.backends import AdminBackend, DatabaseBackend, Row
from veil_service.admin_cli.storage import add_storage_arguments, open_storage

USER_COLUMNS = ("id", "username", "email", "role", "active", "created_at")
KEY_COLUMNS = ("id", "user_id", "name", "prefix", "expires_at", "revoked_at")
EVENT_COLUMNS = ("created_at", "event", "user_id", "actor_id", "peer", "details")

Output = tuple[list[Row], tuple[str, ...]]
"""What a command prints: its rows and the columns of the tab-separated form."""


def _add_target(parser: argparse.ArgumentParser) -> None:
    add_storage_arguments(parser)
    parser.add_argument(
        "--url", default=None, help="act through a running server at this address instead"
    )
    parser.add_argument(
        "--api-key", default=None, help="an admin's API key for --url (default: VEIL_API_KEY)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def _backend(args: argparse.Namespace) -> AdminBackend:
    if args.url:
        from veil_service.admin_cli.remote import ServerBackend

        api_key = args.api_key or os.environ.get("VEIL_API_KEY", "")
        if not api_key:
            raise SystemExit("error: --url needs an admin API key: --api-key or VEIL_API_KEY.")
        return ServerBackend(args.url, api_key)
    db, _ = open_storage(args)
    return DatabaseBackend(db)


def _print(rows: list[Row], columns: tuple[str, ...], as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row, sort_keys=True))
        else:
            print("\t".join(str(row.get(c, "")) for c in columns))


def _run(
    action: Callable[[AdminBackend, argparse.Namespace], Output],
) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: pick the backend, print its rows (errors reach ``veil``'s main, which
    prints them and exits with code 2)."""

    def command(args: argparse.Namespace) -> int:
        backend = _backend(args)
        try:
            rows, columns = action(backend, args)
        finally:
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _print(rows, columns, args.json)
        return 0

    return command


def _list_users(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return backend.list_users(args.limit), USER_COLUMNS


def _disable_user(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return [backend.disable_user(args.user)], USER_COLUMNS


def _enable_user(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return [backend.enable_user(args.user)], USER_COLUMNS


def _set_role(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return [backend.set_role(args.user, args.role)], USER_COLUMNS


def _list_keys(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return backend.list_keys(args.user), KEY_COLUMNS


def _revoke_key(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return [backend.revoke_key(args.key_id)], KEY_COLUMNS


def _audit(backend: AdminBackend, args: argparse.Namespace) -> Output:
    return backend.audit(args.user_id, args.limit), EVENT_COLUMNS


def register(admin_sub: Any) -> None:
    """Add this module's subcommands to the ``veil admin`` parser."""
    parser = admin_sub.add_parser("list-users", help="list users, newest first")
    _add_target(parser)
    parser.add_argument("--limit", type=int, default=500)
    parser.set_defaults(func=_run(_list_users))

    parser = admin_sub.add_parser(
        "disable-user", help="disable a user and revoke their API keys and sessions at once"
    )
    _add_target(parser)
    parser.add_argument("--user", required=True, help="user id or username")
    parser.set_defaults(func=_run(_disable_user))

    parser = admin_sub.add_parser(
        "enable-user",
        help="enable a disabled user again (their revoked API keys and sessions stay revoked)",
    )
    _add_target(parser)
    parser.add_argument("--user", required=True, help="user id or username")
    parser.set_defaults(func=_run(_enable_user))

    parser = admin_sub.add_parser("set-role", help="change a user's role")
    _add_target(parser)
    parser.add_argument("--user", required=True, help="user id or username")
    parser.add_argument("--role", required=True, choices=["user", "admin"])
    parser.set_defaults(func=_run(_set_role))

    parser = admin_sub.add_parser("list-keys", help="list a user's API keys (never the keys)")
    _add_target(parser)
    parser.add_argument("--user", required=True, help="user id or username")
    parser.set_defaults(func=_run(_list_keys))

    parser = admin_sub.add_parser("revoke-key", help="revoke any user's API key")
    _add_target(parser)
    parser.add_argument("--key-id", required=True, help="id of the API key")
    parser.set_defaults(func=_run(_revoke_key))

    parser = admin_sub.add_parser("audit", help="list audit events, newest first")
    _add_target(parser)
    parser.add_argument("--user-id", default="", help="only events about this user id")
    parser.add_argument("--limit", type=int, default=100)
    parser.set_defaults(func=_run(_audit))
