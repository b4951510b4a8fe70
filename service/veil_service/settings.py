"""One typed settings object: flags first, then ``VEIL_*`` environment variables, then defaults.

Printed at start-up with secrets masked, so an operator sees exactly what the server runs with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SECRET_FIELDS = {"smtp_password"}


@dataclass(frozen=True)
class Settings:
    """Everything ``veil serve`` needs to run.

    Attributes:
        data_dir: Root of the embedded state: SQLite file, blobs, outbox, engine socket.
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (tests).
        database_url: SQLAlchemy URL; empty means SQLite under data_dir. Several servers
            share one PostgreSQL (``postgresql+psycopg://user:pass@host/db``).
        blob_dir: Where tables and results are stored; empty means the data dir. Several
            servers share one (a network file system), each with its own data dir.
        job_lease_seconds: How long a server holds a running job without renewing its lease
            (it renews every third of it); a job whose server died is taken over after this.
        engines: Remote engine addresses; empty means one local engine child process.
        dask_scheduler: Address of a dask.distributed scheduler (``tcp://host:8786``) the local
            engine child sends avatarization batches to; empty runs them in local processes.
            Remote engines take their own ``veil engine --dask-scheduler``.
        dask_partition_threshold_rows: With ``dask_scheduler``, a standard job whose table has
            at least this many rows runs on the partition path: the Dask workers read the
            upload from the blob dir in partitions and the engine never holds the table
            (``runs.partition_path``, docs/scale.md section 7); 0 never takes it.
        dask_partition_rows: Rows of each partition on that path; each is avatarized with its
            own projection and neighbours, so it bounds a worker's memory (~0.7 GiB at 250,000
            rows of 15 columns, docs/scaling.md) and sets what a partition's metrics measure.
        engine_capacity: Tasks the local engine runs at once.
        tls_cert / tls_key: PEM files; both set means the server speaks TLS.
        smtp_*: Outgoing mail; no host means messages go to ``<data_dir>/outbox``.
        session_hours: Lifetime of a password-login session.
        allow_pickle: Let clients ask for pickled models (both sides must opt in).
        dataset_roots: Folders RegisterDatasetFromPath may read from (with symlinks resolved);
            none disables that RPC (``VEIL_DATASET_ROOTS``: comma-separated).
        dataset_url_prefixes: URL prefixes (``scheme://host[:port][/path]``) RegisterDatasetFromUrl
            may read; none disables that RPC (``VEIL_DATASET_URL_PREFIXES``: comma-separated).
        dataset_url_max_bytes: Largest file RegisterDatasetFromUrl downloads.
        task_time_limits: ``KIND=SECONDS`` items overriding the engine tasks' time limits
            (``engine_client.pool.DEFAULT_TIME_LIMITS``; ``dp_query:dummy`` for dummy queries).
        engine_slots_per_user: Worker slots one user may hold at once; 0 means all but one.
        dp_answer_quantum_s: A private DP query's answer time is rounded up to a multiple of
            this many seconds, so it does not tell how long the private computation took
            (Lomas's timing-attack protection); 0 disables it.
        dp_synth_max_epochs: Most epochs (PATE-GAN: rounds) a GAN synthesizer may train for
            one query; a request whose budget would train more is refused with the limit and
            the ε that fits. The fit's time is bounded by the ``dp_query`` task time limit.
        log_format: "json", "text" or "auto" (json unless stderr is a terminal).
        web_port: TCP port of the web application; -1 (the default) serves none, 0 picks a free
            one (tests). It listens on ``host`` and speaks TLS when ``tls_cert`` is set.
        web_max_upload_mib: Largest file the web application accepts in one upload, in MiB.
    """

    data_dir: Path = Path("./veil-data")
    host: str = "127.0.0.1"
    port: int = 50051
    database_url: str = ""
    blob_dir: str = ""
    job_lease_seconds: float = 30.0
    engines: tuple[str, ...] = ()
    dask_scheduler: str = ""
    dask_partition_threshold_rows: int = 1_000_000
    dask_partition_rows: int = 250_000
    engine_capacity: int = 2
    tls_cert: str = ""
    tls_key: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "veil@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    session_hours: float = 12.0
    allow_pickle: bool = False
    dataset_roots: tuple[str, ...] = ()
    dataset_url_prefixes: tuple[str, ...] = ()
    dataset_url_max_bytes: int = 4 << 30
    task_time_limits: tuple[str, ...] = ()
    engine_slots_per_user: int = 0
    dp_answer_quantum_s: float = 0.5
    dp_synth_max_epochs: int = 1000
    log_format: str = "auto"
    log_level: str = "INFO"
    web_port: int = -1
    web_max_upload_mib: int = 2048
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """The database URL in use."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'veil.db').resolve()}"

    @property
    def effective_blob_dir(self) -> Path:
        """The folder of the blob store (``blobs/`` and ``tmp/`` go under it)."""
        return Path(self.blob_dir) if self.blob_dir else Path(self.data_dir)

    @property
    def shared_database(self) -> bool:
        """Whether other servers may use this database (anything but SQLite)."""
        return not self.effective_database_url.startswith("sqlite")

    def masked(self) -> dict[str, Any]:
        """Settings as a dict with secrets replaced, for the start-up log line."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = "***"
            if f.name == "database_url" and value:
                value = masked_url(str(value))
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


_SECRET_QUERY_KEYS = ("password", "secret", "token", "sslkey")
"""A database URL's query parameters whose values are masked (libpq and SQLAlchemy take a
password as ``?password=`` as well as in ``user:pass@``)."""


def masked_url(url: str) -> str:
    """``url`` for a log line: its user information and its secret query values as ``***``.

    The user part (``user:pass@``) goes whole; of the query, only the values of parameters
    named like a secret (``password``, ``sslpassword``...), so an operator still sees
    ``sslmode`` and the like. The rest is kept as written (``sqlite:////abs/path``).
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    head, question, query = rest.partition("?")
    authority, slash, path = head.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    pairs = [
        f"{pair.partition('=')[0]}=***"
        if any(word in pair.partition("=")[0].lower() for word in _SECRET_QUERY_KEYS)
        else pair
        for pair in query.split("&")
    ]
    return f"{scheme}://{authority}{slash}{path}{question}{'&'.join(pairs) if question else ''}"


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, Path):
        return Path(raw)
    if isinstance(current, tuple):
        return tuple(p for p in (s.strip() for s in raw.split(",")) if p)
    return raw


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge flags (``overrides``, None values ignored), ``VEIL_*`` variables and defaults."""
    env = os.environ if environ is None else environ
    base = Settings()
    values: dict[str, Any] = {}
    for f in fields(base):
        if f.name == "extra":
            continue
        key = f"VEIL_{f.name.upper()}"
        if key in env and env[key] != "":
            values[f.name] = _coerce(getattr(base, f.name), env[key])
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name in ("engines", "dataset_roots", "dataset_url_prefixes", "task_time_limits"):
            value = tuple(value)
        if name == "data_dir":
            value = Path(value)
        values[name] = value
    return replace(base, **values)
