"""``veil admin`` subcommands for DP datasets and grants (add-dataset, grant, revoke,
set-may-query, import-lomas-users).

They work on a data dir directly, like the other admin commands (the server may be running).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from veil_service.admin_cli.storage import add_storage_arguments, open_storage
from veil_service.errors import InvalidArgumentError
from veil_service.storage.blobs import BlobStore


def register(admin_sub: Any) -> None:
    """Add this module's subcommands to the ``veil admin`` parser."""
    add = admin_sub.add_parser(
        "add-dataset", help="register a DP dataset from a CSV or Parquet file and its metadata"
    )
    add_storage_arguments(add)
    add.add_argument("--name", required=True, help="dataset name analysts use, e.g. PENGUIN")
    add.add_argument("--path", required=True, help="CSV or Parquet file")
    add.add_argument("--metadata", required=True, help="metadata YAML file (Lomas format)")
    add.set_defaults(func=_cmd_add_dataset)

    grant = admin_sub.add_parser(
        "grant", help="give a user access to a DP dataset with a budget (or change it)"
    )
    add_storage_arguments(grant)
    grant.add_argument("--username", required=True, help="user name or id")
    grant.add_argument("--dataset", required=True, help="dataset name")
    grant.add_argument(
        "--epsilon",
        type=float,
        required=True,
        help="initial epsilon budget (privacy loss, natural log)",
    )
    grant.add_argument(
        "--delta", type=float, required=True, help="initial delta budget (a probability)"
    )
    grant.add_argument(
        "--allow-unregistered",
        action="store_true",
        help="accept a dataset not registered yet: the grant takes effect when it is",
    )
    grant.set_defaults(func=_cmd_grant)

    switch = admin_sub.add_parser(
        "set-may-query",
        help="let a user run DP queries on private data, or stop them (Lomas's set_may_query)",
    )
    add_storage_arguments(switch)
    switch.add_argument("--username", required=True, help="user name or id")
    switch.add_argument(
        "--value", required=True, choices=["true", "false"], help="true: may query; false: stop"
    )
    switch.set_defaults(func=_cmd_set_may_query)

    users_import = admin_sub.add_parser(
        "import-lomas-users",
        help="import a Lomas user collection YAML: users, may_query, budgets with spent parts",
    )
    add_storage_arguments(users_import)
    users_import.add_argument("--yaml", required=True, help="Lomas user collection YAML file")
    users_import.add_argument(
        "--email-domain",
        default="",
        help="create missing users with emails at this domain (default: they must exist)",
    )
    users_import.set_defaults(func=_cmd_import_lomas_users)

    revoke = admin_sub.add_parser(
        "revoke", help="take a user's grant on a DP dataset away (the query archive stays)"
    )
    add_storage_arguments(revoke)
    revoke.add_argument("--username", required=True, help="user name or id")
    revoke.add_argument("--dataset", required=True, help="dataset name")
    revoke.set_defaults(func=_cmd_revoke)


def _open(args: argparse.Namespace) -> tuple[sa.Engine, BlobStore]:
    db, settings = open_storage(args)
    return db, BlobStore(settings.effective_blob_dir)


def _cmd_add_dataset(args: argparse.Namespace) -> int:
    from veil_service.dpquery.registration import register_from_path

    metadata_path = Path(args.metadata)
    if not metadata_path.is_file():
        raise InvalidArgumentError(f"--metadata: no file at {metadata_path}.", field="metadata")
    db, blobs = _open(args)
    try:
        record = register_from_path(
            db,
            blobs,
            name=args.name,
            path=args.path,
            metadata_text=metadata_path.read_text(encoding="utf-8"),
            peer="cli",
        )
    finally:
        db.dispose()
    print(
        f"registered dataset {record.name!r}: {record.num_rows} rows, "
        f"{len(record.columns)} columns, sha256 {record.sha256[:12]}"
    )
    return 0


def _cmd_grant(args: argparse.Namespace) -> int:
    from veil_service.dpquery.grants import grant_access

    db, _ = _open(args)
    try:
        with db.begin() as conn:
            value = grant_access(
                conn,
                user=args.username,
                dataset=args.dataset,
                epsilon=args.epsilon,
                delta=args.delta,
                allow_unregistered=args.allow_unregistered,
                peer="cli",
            )
    finally:
        db.dispose()
    if value.pending:
        print(f"pending until {value.dataset_name!r} is registered: ", end="")
    print(
        f"granted {value.username!r} on {value.dataset_name!r}: epsilon={value.initial_epsilon}"
        f", delta={value.initial_delta} (spent epsilon={value.spent_epsilon}, "
        f"delta={value.spent_delta})"
    )
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    from veil_service.dpquery.grants import revoke_access

    db, _ = _open(args)
    try:
        with db.begin() as conn:
            value = revoke_access(conn, user=args.username, dataset=args.dataset, peer="cli")
    finally:
        db.dispose()
    print(
        f"revoked {value.username!r} on {value.dataset_name!r} (had spent epsilon="
        f"{value.spent_epsilon}, delta={value.spent_delta} of {value.initial_epsilon}, "
        f"{value.initial_delta})"
    )
    return 0


def _cmd_set_may_query(args: argparse.Namespace) -> int:
    from veil_service.dpquery.query_switch import set_may_query

    db, _ = _open(args)
    try:
        with db.begin() as conn:
            username, value = set_may_query(
                conn, user=args.username, value=args.value == "true", peer="cli"
            )
    finally:
        db.dispose()
    print(f"user {username!r} may_query is now {value}")
    return 0


def _cmd_import_lomas_users(args: argparse.Namespace) -> int:
    from veil_service.dpquery.lomas_import import import_users

    path = Path(args.yaml)
    if not path.is_file():
        raise InvalidArgumentError(f"--yaml: no file at {path}.", field="yaml")
    db, _ = _open(args)
    try:
        with db.begin() as conn:
            result = import_users(
                conn,
                path.read_text(encoding="utf-8"),
                email_domain=args.email_domain,
                peer="cli",
            )
    finally:
        db.dispose()
    for name in result.created_users:
        print(f"created user {name!r} (no password yet: send a password reset)")
    for value in result.grants:
        state = "pending" if value.pending else "granted"
        print(
            f"{state} {value.username!r} on {value.dataset_name!r}: epsilon "
            f"{value.spent_epsilon}/{value.initial_epsilon}, delta "
            f"{value.spent_delta}/{value.initial_delta} spent"
        )
    return 0
