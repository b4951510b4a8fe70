"""The ``veil`` command: ``serve``, ``engine`` and ``admin`` operations.

Admin commands work on a data dir directly (the server may be running: SQLite in WAL mode takes
concurrent writers). Commands that print a secret print it alone on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from veil_service.errors import VeilServiceError


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="data dir (default ./veil-data)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL of the database")


def _cmd_serve(args: argparse.Namespace) -> int:
    from veil_wire.malloc_tuning import tune_malloc

    tune_malloc()  # before gRPC starts its threads: see the module for why and what
    from veil_service.logs import configure_logging
    from veil_service.server.app import serve
    from veil_service.settings import load_settings

    settings = load_settings(
        {
            "data_dir": args.data_dir,
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "engines": args.engine or None,
            "engine_capacity": args.engine_capacity,
            "tls_cert": args.tls_cert,
            "tls_key": args.tls_key,
            "smtp_host": args.smtp_host,
            "smtp_port": args.smtp_port,
            "smtp_from": args.smtp_from,
            "smtp_user": args.smtp_user,
            "smtp_starttls": args.smtp_starttls or None,
            "smtp_tls": args.smtp_tls or None,
            "allow_pickle": args.allow_pickle or None,
            "log_format": args.log_format,
        }
    )
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))
    return 0


def _cmd_engine(args: argparse.Namespace) -> int:
    from veil_wire.malloc_tuning import tune_malloc

    tune_malloc()
    from veil_service.engine.server import serve_engine
    from veil_service.logs import configure_logging

    configure_logging("INFO", "auto")
    asyncio.run(
        serve_engine(
            args.listen,
            work_dir=Path(args.work_dir).resolve(),
            capacity=args.capacity,
            cache_bytes=args.cache_mib << 20,
        )
    )
    return 0


def _open_db(args: argparse.Namespace) -> Any:
    from veil_service.settings import load_settings
    from veil_service.storage.db import open_database

    settings = load_settings({"data_dir": args.data_dir, "database_url": args.database_url})
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return open_database(settings.effective_database_url), settings


def _cmd_bootstrap(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from veil_service.accounts import api_keys, users
    from veil_service.storage import schema

    db, _ = _open_db(args)
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
            password_hash=_hash_password(args.password),
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


def _hash_password(password: str | None) -> str | None:
    if not password:
        return None
    from veil_service.accounts.passwords import hash_password

    return hash_password(password)


def _cmd_create_user(args: argparse.Namespace) -> int:
    from veil_service.accounts import users

    db, _ = _open_db(args)
    with db.begin() as conn:
        user = users.create_user(
            conn,
            username=args.username,
            email=args.email,
            role=args.role,
            password_hash=_hash_password(args.password),
            peer="cli",
        )
    print(f"created {user.role} {user.username!r} ({user.id})")
    return 0


def _cmd_create_api_key(args: argparse.Namespace) -> int:
    from veil_service.accounts import api_keys, users

    db, _ = _open_db(args)
    with db.begin() as conn:
        user = users.find_user(conn, args.username)
        _, plaintext = api_keys.create_api_key(
            conn, user_id=user.id, name=args.name, expiration_days=args.expiration_days, peer="cli"
        )
    print(f"API key {args.name!r} for {user.username!r} (shown once):")
    print(plaintext)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="veil", description="Veil privacy service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC server (and a local engine)")
    _add_data_dir(serve)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--engine",
        action="append",
        default=[],
        help="address of a remote engine (repeatable); none = local child",
    )
    serve.add_argument("--engine-capacity", type=int, default=None)
    serve.add_argument("--tls-cert", default=None)
    serve.add_argument("--tls-key", default=None)
    serve.add_argument("--smtp-host", default=None)
    serve.add_argument("--smtp-port", type=int, default=None)
    serve.add_argument("--smtp-from", default=None)
    serve.add_argument("--smtp-user", default=None)
    serve.add_argument("--smtp-starttls", action="store_true")
    serve.add_argument("--smtp-tls", action="store_true")
    serve.add_argument(
        "--allow-pickle", action="store_true", help="let clients opt in to pickled models"
    )
    serve.add_argument("--log-format", choices=["auto", "json", "text"], default=None)
    serve.set_defaults(func=_cmd_serve)

    engine = sub.add_parser("engine", help="run an engine alone")
    engine.add_argument("--listen", required=True, help="e.g. 127.0.0.1:50052 or unix:///path")
    engine.add_argument("--work-dir", default="./veil-engine")
    engine.add_argument("--capacity", type=int, default=2)
    engine.add_argument("--cache-mib", type=int, default=2048)
    engine.set_defaults(func=_cmd_engine)

    admin = sub.add_parser("admin", help="administration on a data dir")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)

    boot = admin_sub.add_parser("bootstrap", help="create the first admin and print an API key")
    _add_data_dir(boot)
    boot.add_argument("--username", default="admin")
    boot.add_argument("--email", default="admin@localhost.localdomain")
    boot.add_argument("--password", default=None)
    boot.add_argument("--key-name", default="bootstrap")
    boot.add_argument("--expiration-days", type=int, default=365)
    boot.set_defaults(func=_cmd_bootstrap)

    create_user = admin_sub.add_parser("create-user", help="create a user")
    _add_data_dir(create_user)
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password", default=None)
    create_user.add_argument("--role", choices=["user", "admin"], default="user")
    create_user.set_defaults(func=_cmd_create_user)

    create_key = admin_sub.add_parser("create-api-key", help="create an API key for a user")
    _add_data_dir(create_key)
    create_key.add_argument("--username", required=True)
    create_key.add_argument("--name", required=True)
    create_key.add_argument("--expiration-days", type=int, default=365)
    create_key.set_defaults(func=_cmd_create_api_key)

    from veil_service.accounts import cli_commands as account_commands
    from veil_service.dpquery import cli_commands as dp_commands

    account_commands.register(admin_sub)
    dp_commands.register(admin_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``veil`` command."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except VeilServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
