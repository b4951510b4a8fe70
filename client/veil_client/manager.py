"""``Manager``: the entry point, with the Octopize client's names.

``Manager(base_url=..., api_key=...)`` is ready at once; porting an Octopize script means changing
the import and the URL.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from veil_client.api.common import PAGE_SIZE, Page, collect
from veil_client.api.health import HealthApi
from veil_client.api.runs import RunsApi
from veil_client.auth_client import ApiClient, AuthClient
from veil_client.client_config import ClientConfig, refuse_conflicts
from veil_client.errors import InvalidArgument, NotFound, Unavailable
from veil_client.models import (
    ForgottenPasswordRequest,
    JobKind,
    JobResponse,
    ResetPasswordRequest,
)
from veil_client.runner import Runner
from veil_client.transport import GrpcTransport, Transport

if TYPE_CHECKING:
    from veil_client.dp_client import DPClient

CONNECTION_CHECK_TIMEOUT_S = 10.0
"""Deadline of the health check a new Manager makes."""

_VERSION_SUFFIX = re.compile(r"-v(\d+)$")


def increment_display_name_version(name: str) -> str:
    """The display name of a runner made from an earlier run, as Octopize names it.

    ``iris`` becomes ``iris-v1``, ``iris-v1`` becomes ``iris-v2`` (``-v9`` -> ``-v10``): a
    reloaded or YAML-made runner reruns under a name of its own, so listing the server's jobs
    by name tells the rerun from the run it came from.
    """
    match = _VERSION_SUFFIX.search(name)
    if match is None:
        return f"{name}-v1"
    return f"{name[: match.start()]}-v{int(match.group(1)) + 1}"


def _run_id(value: object, field: str) -> str:
    """A run id (``runner.set_name``) in canonical form, or Octopize's errors naming the field.

    Raises:
        TypeError: ``value`` is neither a str nor a UUID.
        InvalidArgument: ``value`` is not a UUID (a ValueError; a display name given by
            mistake is pointed at ``create_runner_from_name``).
    """
    if not isinstance(value, str | uuid.UUID):
        raise TypeError(f"{field} must be a str or UUID, got {type(value).__name__}")
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidArgument(
            f"Invalid {field} format: {value!r}. Expected a run id, a UUID such as "
            "runner.set_name ('a1b2c3d4-e5f6-7890-abcd-ef1234567890'); to reload a run by its "
            f"display name: manager.create_runner_from_name({value!r}).",
            field=field,
        ) from None


class Manager:
    """Connects to a Veil server and hands out runners and DP dataset clients.

    Args:
        base_url: ``localhost:PORT``, ``grpc://host:port`` or ``grpcs://host:port``; defaults to
            the ``VEIL_URL`` environment variable.
        api_key: An API key (recommended); defaults to ``VEIL_API_KEY``.
        api_client: A configured :class:`veil_client.ApiClient` to use (Octopize's argument):
            it becomes ``auth_client`` and its channel is this manager's. Not with any other
            connection setting.
        config: A :class:`veil_client.ClientConfig` holding the connection settings
            (Octopize's argument); what it leaves unset comes from the environment. Not with
            ``base_url``, ``api_key``, ``timeout``, ``root_certificates`` or ``transport``.
        timeout: Default deadline of unary calls, in seconds (default 60).
        root_certificates: PEM CA bundle for ``grpcs://`` servers with a private CA.
        transport: Talk through this transport instead of opening a channel to ``base_url``
            (e.g. a :class:`veil_client.testing.FakeTransport` in tests).
        check_connection: Ask the server's health at once, so that a wrong address fails
            here with one sentence saying what is wrong (as Octopize's Manager does).
        should_verify_compatibility: Accepted for Octopize scripts; ignored (the client and the
            server ship together).

    Raises:
        InvalidArgument: ``base_url`` is empty or an HTTP URL; ``api_client`` or ``config``
            with settings they already hold (a ValueError naming them, as Octopize's).
        Unavailable: no Veil server answers at ``base_url`` (down, wrong host, an HTTP port, a
            TLS mismatch), in one sentence naming the address and the fix.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        api_client: ApiClient | None = None,
        config: ClientConfig | None = None,
        timeout: float | None = None,
        root_certificates: bytes | None = None,
        transport: Transport | None = None,
        check_connection: bool = True,
        should_verify_compatibility: bool | None = None,
    ) -> None:
        settings = {
            "base_url": base_url,
            "api_key": api_key,
            "timeout": timeout,
            "root_certificates": root_certificates,
            "transport": transport,
        }
        auth_client: AuthClient | None = None
        if api_client is not None:
            refuse_conflicts(
                "api_client",
                "Either pass a pre-configured ApiClient or configuration parameters, not both.",
                **settings,
                config=config,
            )
            auth_client, transport = api_client, api_client.transport
            self.base_url = api_client.config.url
        elif config is not None:
            refuse_conflicts(
                "config",
                "Either pass a ClientConfig object or individual parameters, not both.",
                **settings,
            )
            transport = config.open_transport()
            self.base_url = config.url
        elif transport is None:
            config = ClientConfig(
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                root_certificates=root_certificates,
            )
            transport = config.open_transport()
            self.base_url = config.url
        else:
            key = api_key if api_key is not None else os.environ.get("VEIL_API_KEY") or None
            if key is not None:
                transport.set_credential(key)
            self.base_url = base_url or os.environ.get("VEIL_URL", "")
        self._has_api_key = transport.has_credential
        self.transport = transport
        self.runs_api = RunsApi(self.transport)
        self.auth_client = auth_client or AuthClient(self.transport)
        if check_connection and isinstance(transport, GrpcTransport):
            self._check_connection(min(transport.timeout, CONNECTION_CHECK_TIMEOUT_S))

    def _check_connection(self, timeout: float) -> None:
        status = HealthApi(self.transport).check_within(timeout)
        if status != "SERVING":
            raise Unavailable(
                f"the Veil server at {self.transport.target} is up but not serving ({status}): "
                "it is starting or stopping; retry in a moment.",
                code="UNAVAILABLE",
            )

    def get_health(self) -> dict[str, str]:
        """The server's health: ``{"status": "SERVING"}`` when it is ready."""
        return self.auth_client.health.get_health()

    def authenticate(
        self, username: str, password: str, should_verify_compatibility: bool | None = None
    ) -> None:
        """Log in with a username and password; deprecated, prefer ``Manager(api_key=...)``.

        Kept so Octopize scripts run unchanged. Emits a DeprecationWarning on each successful
        login. The session token is kept in this manager only.

        Args:
            username: Username or email.
            password: Password.
            should_verify_compatibility: Accepted for compatibility with the Octopize client;
                ignored (client and server ship together).

        Raises:
            ValueError: this manager already has an API key (the two are mutually exclusive).
            Unauthenticated: wrong username or password.
            ResourceExhausted: too many failed logins; ``retry_after`` says how long to wait.
        """
        if self._has_api_key:
            raise ValueError(
                "this Manager already uses an API key (api_key=... or "
                "VEIL_API_KEY); API key and username/password authentication are "
                "mutually exclusive: use one of them."
            )
        session = self.auth_client.login(username, password)
        self.transport.set_credential(session.session_token)
        warnings.warn(
            session.deprecation_notice or "password login is deprecated: use an API key.",
            DeprecationWarning,
            stacklevel=2,
        )

    def forgotten_password(self, email: str) -> None:
        """Ask the server to email a password reset token (valid once, for 24 hours).

        Succeeds whether or not the address is known, so it reveals nothing.
        """
        self.auth_client.forgotten_password(ForgottenPasswordRequest(email=email))

    def reset_password(
        self,
        email: str,
        new_password: str,
        new_password_repeated: str,
        token: object,
        *,
        revoke_api_keys: bool = False,
    ) -> dict[str, Any]:
        """Set a new password with the emailed token; ends your password and web sessions.

        Your API keys stay valid unless ``revoke_api_keys=True``: set it if the password may
        have been stolen (whoever knew it could have created a key).

        Returns:
            ``{"sessions_ended": n, "api_keys_revoked": n, "api_keys_active": n}``.

        Raises:
            InvalidArgument: the passwords differ or the new one is weak.
            PermissionDenied: the token is wrong, expired or already used (``reason`` says
                which).
        """
        return self.auth_client.reset_password(
            ResetPasswordRequest(
                email=email,
                new_password=new_password,
                new_password_repeated=new_password_repeated,
                token=token,
                revoke_api_keys=revoke_api_keys,
            )
        )

    # -- runs (Octopize Manager surface) -------------------------------------------------------

    def create_runner(
        self,
        set_name: str | None = None,
        *,
        seed: int | None = None,
        max_distribution_plots: int | None = None,
        output_format: str | None = None,
        compute_figures: bool | None = None,
        pia_data_recipient: Any = None,
        pia_data_type: Any = None,
        pia_data_subject: Any = None,
        pia_sensitivity_level: Any = None,
        report_language: Any = None,
        name: str | None = None,
    ) -> Runner:
        """A new runner; ``set_name`` is its display name (the server assigns the id).

        Args:
            set_name: Display name of the run (``name`` is accepted too, as the Octopize user
                guide writes it).
            output_format: ``csv`` or ``parquet``, Octopize's format of result files; Veil's
                results are Arrow tables read as DataFrames, so it only needs to be valid.
        """
        from veil_client.config import (
            DataRecipient,
            DataSubject,
            DataType,
            ReportLanguage,
            SensitivityLevel,
        )

        display_name = set_name if set_name is not None else name
        if not display_name or (set_name is not None and name is not None):
            raise InvalidArgument(
                "give the run's display name once: create_runner(set_name='...').",
                field="set_name",
            )
        return Runner(
            self,
            display_name,
            output_format=output_format,
            seed=seed,
            max_distribution_plots=max_distribution_plots,
            compute_figures=compute_figures,
            pia_data_recipient=pia_data_recipient or DataRecipient.UNKNOWN,
            pia_data_type=pia_data_type or DataType.UNKNOWN,
            pia_data_subject=pia_data_subject or DataSubject.UNKNOWN,
            pia_sensitivity_level=pia_sensitivity_level or SensitivityLevel.UNDEFINED,
            report_language=report_language or ReportLanguage.EN,
        )

    def create_runner_from_id(self, set_name: str | uuid.UUID) -> Runner:
        """Reload a previous run by its id, with its configuration, jobs and results.

        The runner is named as Octopize names it, ``<name>-v1`` (``-v1`` -> ``-v2``...): its
        results are the run's, and ``run()`` starts a new version under the new name, leaving
        the run as it was.

        Raises:
            TypeError: ``set_name`` is neither a str nor a UUID (as Octopize's).
            InvalidArgument: ``set_name`` is not a UUID (a ValueError, as Octopize's).
            NotFound: no run of yours has that id.
        """
        run_id = _run_id(set_name, "set_name")
        run = self.runs_api.get_run(run_id)
        runner = Runner(self, increment_display_name_version(run.display_name))
        runner.set_name = run.id
        runner.config = run.config
        for table in run.tables:
            if table.name in runner.config.tables and table.role == "avatar":
                runner.config.tables[table.name].has_avatar_data = True
        runner._mark_pushed()
        jobs = self._list_jobs(run_id=run.id)
        for job in sorted(jobs, key=lambda j: j["created_at"] or 0):
            runner.jobs[job["kind"]] = job["id"]
        return runner

    def create_runner_from_yaml(self, yaml_path: str, set_name: str) -> Runner:
        """A new runner configured by an avatar_yaml file (upload its data with upload_file).

        Named as Octopize names it: ``set_name`` with its ``-vN`` suffix added or incremented
        (``x`` -> ``x-v1``).
        """
        runner = self.create_runner(increment_display_name_version(set_name))
        runner.from_yaml(yaml_path)
        return runner

    def create_runner_from_name(self, display_name: str) -> Runner:
        """Reload the newest run with that display name."""
        groups = self.find_ids_by_name(display_name)
        if not groups:
            raise ValueError(f"No jobs found for display name '{display_name}'")
        return self.create_runner_from_id(groups[0][0])

    def _list_jobs(
        self, *, run_id: str = "", display_name: str = "", limit: int = 500
    ) -> list[JobResponse]:
        def page(token: str) -> Page[JobResponse]:
            return self.runs_api.list_jobs(
                run_id=run_id,
                display_name=display_name,
                page_size=min(PAGE_SIZE, limit),
                page_token=token,
            )

        return collect(page, limit)

    def find_ids_by_name(self, set_name: str) -> list[tuple[str, list[JobResponse]]]:
        """Runs with that display name, newest first, with their jobs (advice excluded)."""
        groups: dict[str, list[JobResponse]] = {}
        for job in self._list_jobs(display_name=set_name):
            if job["kind"] != JobKind.advice:
                groups.setdefault(str(job["set_name"]), []).append(job)
        return sorted(
            groups.items(), key=lambda item: max(j["created_at"] for j in item[1]), reverse=True
        )

    def get_jobs_by_name(self, name: str) -> list[JobResponse]:
        """Every job of the runs with that display name, newest first."""
        return self._list_jobs(display_name=name, limit=10_000)

    def get_jobs_by_id(self, id: str | uuid.UUID) -> list[JobResponse]:
        """Every job of one run, newest first."""
        return self._list_jobs(run_id=_run_id(id, "id"), limit=10_000)

    def get_last_set(self) -> list[JobResponse]:
        """Every job of the most recently created run that has jobs."""
        newest = self._list_jobs(limit=1)
        return self.get_jobs_by_id(newest[0].set_name) if newest else []

    def delete_jobs(self, job_names: list[str]) -> dict[str, Any]:
        """Delete jobs by id (cancelling unfinished ones first); ``failed_jobs`` lists those
        that could not be deleted (unknown, or not yours)."""
        deleted: list[str] = []
        failed: list[str] = []
        for job_id in job_names:
            try:
                if not self.runs_api.get_job(job_id).done:
                    self.runs_api.cancel_job(job_id)
            except NotFound:
                failed.append(job_id)
                continue
            deleted.append(job_id)
        for start in range(0, len(deleted), 100):
            self.runs_api.delete_jobs(deleted[start : start + 100])
        return {"deleted_jobs": deleted, "failed_jobs": failed}

    def cancel_jobs(self, job_names: list[str]) -> list[JobResponse]:
        """Cancel jobs by id, skipping those already done; returns the cancelled ones."""
        out = []
        for job_id in job_names:
            cancelled = self.runs_api.cancel_job_unless_done(job_id)
            if cancelled is not None:
                out.append(cancelled)
        return out

    def get_last_jobs(self, count: int = 1, name: str | None = None) -> dict[str, JobResponse]:
        """The ``count`` newest jobs (optionally of one display name), by id."""
        return {j["id"]: j for j in self._list_jobs(display_name=name or "", limit=count)}

    def get_last_results(self, count: int = 1) -> list[dict[str, Any]]:
        """Result listings of the ``count`` newest jobs."""
        out = []
        for job_id in self.get_last_jobs(count):
            out.append(
                {
                    r.kind + (":" + r.subkind if r.subkind else "") + "/" + r.table_name: r.id
                    for r in self.runs_api.list_results(job_id=job_id)
                }
            )
        return out

    def _single_run_id(self, name: str, verb: str) -> str:
        groups = self.find_ids_by_name(name)
        if not groups:
            raise ValueError(f"No jobs found for display name '{name}'")
        if len(groups) > 1:
            commands = "\n".join(
                f"  manager.{verb}_by_id(UUID('{run_id}'))" for run_id, _ in groups
            )
            raise ValueError(f"several runs are named '{name}'; choose one:\n{commands}")
        return groups[0][0]

    def delete_job(self, name: str) -> dict[str, Any]:
        """Delete every job of the run with that display name (ValueError if ambiguous)."""
        return self.delete_job_by_id(self._single_run_id(name, "delete_job"))

    def delete_job_by_id(self, id: str | uuid.UUID) -> dict[str, Any]:
        """Delete every job of one run."""
        jobs = self._list_jobs(run_id=_run_id(id, "id"))
        for job in jobs:
            if not job["done"]:
                self.runs_api.cancel_job(job["id"])
        ids = [j["id"] for j in jobs]
        if ids:
            self.runs_api.delete_jobs(ids)
        return {"deleted_jobs": ids, "failed_jobs": []}

    def cancel_job(self, name: str) -> list[JobResponse]:
        """Cancel the unfinished jobs of the run with that display name."""
        return self.cancel_job_by_id(self._single_run_id(name, "cancel_job"))

    def cancel_job_by_id(self, id: str | uuid.UUID) -> list[JobResponse]:
        """Cancel the unfinished jobs of one run."""
        return [
            self.runs_api.cancel_job(job["id"])
            for job in self._list_jobs(run_id=_run_id(id, "id"))
            if not job["done"]
        ]

    def dp(self, dataset: str) -> DPClient:
        """A client for one DP dataset, with Lomas client's methods (see ``veil_client.dp_client``).

        Args:
            dataset: Dataset name, e.g. ``"PENGUIN"``.
        """
        from veil_client.dp_client import DPClient

        return DPClient(self.transport, dataset)

    def whoami(self) -> dict[str, Any]:
        """Who the server thinks you are."""
        return self.auth_client.whoami()

    def close(self) -> None:
        """Close the connection."""
        self.transport.close()

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
