"""``veil admin`` subcommands that create accounts: ``bootstrap`` (the first admin and its API
key), ``create-user`` and ``create-api-key``. They act on the data dir's database directly: a fresh
install has no admin key yet, and the operator's file access is the authority.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from veil_service.admin_cli.storage import add_storage_arguments, open_storage


def _cmd_bootstrap(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from veil_service.accounts import api_keys, users
    from veil_service.storage import schema

    db, _ = open_storage(args)
    with db.begin() as conn:
        admins = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.users)
            .where(schema.users.c.role == "admin")
        ).scalar()
        if admins:
            print(
                "an admin already exists in this data dir; use 'veil admin create-api-key'.",
                file=sys.stderr,
            )
            return 1
        user = users.create_user(
            conn,
            username=args.username,
            email=args.email,
            role="admin",
            password_hash=_hash_password(read_password(args)),
            peer="cli",
        )
        _, plaintext = api_keys.create_api_key(
            conn,
            user_id=user.id,
            name=args.key_name,
            expiration_days=args.expiration_days,
            peer="cli",
        )
    print(f"created admin {user.username!r}; API key (shown once):")
    print(plaintext)
    return 0


PASSWORD_FLAG_WARNING = (
    "warning: --password is deprecated: the command line is readable by every local user "
    "(/proc/PID/cmdline, ps). Use --password-stdin, --password-file PATH or --prompt-password."
)


def read_password(args: argparse.Namespace) -> str | None:
    """The password from stdin, a file, a prompt or (deprecated) the command line; else None.

    Raises:
        SystemExit: the file cannot be read, the prompt's two entries differ, or stdin is empty.
    """
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise SystemExit("--password-stdin: no password on standard input")
        return line
    if getattr(args, "password_file", None):
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                line = handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise SystemExit(f"--password-file: cannot read it ({exc.strerror})") from None
        if not line:
            raise SystemExit("--password-file: the file's first line is empty")
        return line
    if getattr(args, "prompt_password", False):
        import getpass

        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat it: "):
            raise SystemExit("the two passwords differ")
        return first
    if args.password:
        print(PASSWORD_FLAG_WARNING, file=sys.stderr)
        return str(args.password)
    return None


def add_password_arguments(parser: argparse.ArgumentParser) -> None:
    """The ways to give a password; at most one of them."""
    given = parser.add_mutually_exclusive_group()
    given.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    given.add_argument("--password-file", metavar="PATH", help="read it from a file's first line")
    given.add_argument(
        "--prompt-password", action="store_true", help="ask for it (twice) without echo"
    )
    given.add_argument(
        "--password", default=None, help="deprecated: visible to every local user; see above"
    )


def _hash_password(password: str | None) -> str | None:
    if not password:
        return None
    from veil_service.accounts.passwords import hash_password

    return hash_password(password)


def _cmd_create_user(args: argparse.Namespace) -> int:
    from veil_service.accounts import users

    db, _ = open_storage(args)
    with db.begin() as conn:
        user = users.create_user(
            conn,
            username=args.username,
            email=args.email,
            role=args.role,
            password_hash=_hash_password(read_password(args)),
            peer="cli",
        )
    print(f"created {user.role} {user.username!r} ({user.id})")
    return 0


def _cmd_create_api_key(args: argparse.Namespace) -> int:
    from veil_service.accounts import api_keys, users

    db, _ = open_storage(args)
    with db.begin() as conn:
        user = users.find_user(conn, args.username)
        _, plaintext = api_keys.create_api_key(
            conn, user_id=user.id, name=args.name, expiration_days=args.expiration_days, peer="cli"
        )
    print(f"API key {args.name!r} for {user.username!r} (shown once):")
    print(plaintext)
    return 0


def register(admin_sub: Any) -> None:
    """Add this module's subcommands to the ``veil admin`` parser."""
    boot = admin_sub.add_parser("bootstrap", help="create the first admin and print an API key")
    add_storage_arguments(boot)
    boot.add_argument("--username", default="admin")
    boot.add_argument("--email", default="admin@localhost.localdomain")
    add_password_arguments(boot)
    boot.add_argument("--key-name", default="bootstrap")
    boot.add_argument("--expiration-days", type=int, default=365)
    boot.set_defaults(func=_cmd_bootstrap)

    create_user = admin_sub.add_parser("create-user", help="create a user")
    add_storage_arguments(create_user)
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--email", required=True)
    add_password_arguments(create_user)
    create_user.add_argument("--role", choices=["user", "admin"], default="user")
    create_user.set_defaults(func=_cmd_create_user)

    create_key = admin_sub.add_parser("create-api-key", help="create an API key for a user")
    add_storage_arguments(create_key)
    create_key.add_argument("--username", required=True)
    create_key.add_argument("--name", required=True)
    create_key.add_argument("--expiration-days", type=int, default=365)
    create_key.set_defaults(func=_cmd_create_api_key)
