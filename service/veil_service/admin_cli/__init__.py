"""``veil admin``: operator commands on a data dir (or, for users, on a running server).

One module per group of subcommands, each adding its parsers with ``register``:

* ``bootstrap``: ``bootstrap`` (the first admin), ``create-user``, ``create-api-key``.
* ``users``: ``list-users``, ``disable-user``, ``enable-user``, ``set-role``, ``list-keys``,
  ``revoke-key``, ``audit``, on the database (``backends``) or through a server's AdminService
  (``remote``).
* ``datasets``: ``add-dataset``, ``grant`` (DP datasets and budgets).

Commands on a data dir work while the server runs (SQLite in WAL mode takes concurrent writers).
Commands that print a secret print it alone on the last line; errors reach ``veil``'s main, which
prints them and exits with code 2.
"""

from __future__ import annotations

from typing import Any

from veil_service.admin_cli import bootstrap, datasets, users


def register(sub: Any) -> None:
    """Add ``veil admin`` and its subcommands to the ``veil`` parser's subparsers."""
    admin = sub.add_parser("admin", help="administration on a data dir")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    bootstrap.register(admin_sub)
    users.register(admin_sub)
    datasets.register(admin_sub)
