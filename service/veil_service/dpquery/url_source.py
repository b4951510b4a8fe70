"""Downloading a dataset file from an http(s) URL for registration (Lomas's ``PATH_DB`` with a URL;
an S3 presigned URL is an https URL too).

The server, not the admin's machine, reads the URL, so the operator decides which URLs it may
read (``--dataset-url-prefix``; none disables URL registration), as ``--dataset-root`` does for
paths: an admin key must not turn the server into a proxy to internal addresses. Every redirect
is checked against the same prefixes. The download streams into a temp file beside the blob store
with the sha256 computed as it goes, stops at the size limit (checked against Content-Length
first), and is deleted whatever happens; the file is then converted like a server-side file.
Messages name the field (``url``, ``sha256``, ``max_bytes``) and never quote the body.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from veil_service.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    Reason,
    ResourceExhaustedError,
    UnavailableError,
)

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 30.0
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
FORMATS = {".csv": ".csv", ".gz": ".csv.gz", ".parquet": ".parquet", ".pq": ".parquet"}


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file (the caller deletes it).

    Attributes:
        path: Temp file, named with the format's suffix.
        sha256: Digest of the bytes, hex.
        size_bytes: Bytes downloaded.
    """

    path: Path
    sha256: str
    size_bytes: int


def _allowed(url: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``url`` is under one of ``prefixes`` (scheme, host, port if given, path prefix)."""
    parts = urlsplit(url)
    for prefix in prefixes:
        want = urlsplit(prefix)
        if (
            parts.scheme == want.scheme.lower()
            and (parts.hostname or "") == (want.hostname or "").lower()
            and (want.port is None or parts.port == want.port)
            and (parts.path or "/").startswith(want.path or "/")
        ):
            return True
    return False


def check_url(url: str, prefixes: tuple[str, ...], field: str = "url") -> None:
    """Refuse a URL that is malformed or outside the server's prefixes.

    Raises:
        FailedPreconditionError: the server reads no URL (no prefixes set).
        InvalidArgumentError: not an http(s) URL with a host, or with credentials in it.
        PermissionDeniedError: outside every prefix.
    """
    if not prefixes:
        raise FailedPreconditionError(
            f"{field}: this server reads no dataset from URLs: start it with --dataset-url-prefix "
            "PREFIX (or VEIL_DATASET_URL_PREFIXES), or upload the file with RegisterDataset.",
            field=field,
        )
    try:
        parts = urlsplit(url or "")
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise InvalidArgumentError(
            f"{field} must be an http:// or https:// URL with a host.",
            field=field,
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidArgumentError(
            f"{field} must not carry credentials (user:password@); use a presigned URL.",
            field=field,
        )
    if not _allowed(url, prefixes):
        raise PermissionDeniedError(
            f"{field} is outside the URLs this server may read ({', '.join(prefixes)}); ask the "
            "operator to add a --dataset-url-prefix, or upload the file.",
            field=field,
        )


def file_suffix(url: str, fmt: str) -> str:
    """The local suffix of the downloaded file, from ``fmt`` or the URL's path.

    Raises:
        InvalidArgumentError: unknown format, or a path that does not say and no ``fmt``.
    """
    if fmt:
        if fmt.lower() not in ("csv", "parquet"):
            raise InvalidArgumentError(
                f"format must be 'csv' or 'parquet'; got {fmt!r}.", field="format"
            )
        return "." + fmt.lower()
    path = urlsplit(url).path.lower()
    if path.endswith(".csv.gz"):
        return ".csv.gz"
    suffix = FORMATS.get(Path(path).suffix, "")
    if not suffix or suffix == ".csv.gz":
        raise InvalidArgumentError(
            "url: its path does not end in .csv, .csv.gz, .parquet or .pq; set format to 'csv' "
            "or 'parquet'.",
            field="url",
        )
    return suffix


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL under the same prefixes."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        try:
            check_url(newurl, self.prefixes, field="url (redirect target)")
        except BaseException:
            fp.close()  # urllib closes it only when it follows the redirect
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(
    url: str,
    *,
    prefixes: tuple[str, ...],
    temp_dir: Path,
    max_bytes: int,
    limit_bytes: int,
    sha256: str = "",
    fmt: str = "",
) -> Downloaded:
    """Download ``url`` into a temp file under ``temp_dir`` (blocking).

    Args:
        url: http(s) URL under one of ``prefixes``.
        prefixes: The operator's URL prefixes.
        temp_dir: Where the temp file goes (the blob store's temp folder: same disk).
        max_bytes: The caller's limit (0: ``limit_bytes``).
        limit_bytes: The server's limit; ``max_bytes`` may not exceed it.
        sha256: Expected digest, hex (empty: not checked).
        fmt: "csv" or "parquet" when the URL's path does not say.

    Raises:
        InvalidArgumentError: bad URL, format, max_bytes or sha256 syntax; a checksum mismatch
            (reason CHECKSUM_MISMATCH); an HTTP error other than 404/410.
        NotFoundError: the URL answered 404 or 410.
        ResourceExhaustedError: the file is larger than the limit.
        UnavailableError: the host does not answer, or answered a 5xx.
    """
    check_url(url, prefixes)
    if max_bytes < 0 or max_bytes > limit_bytes:
        raise InvalidArgumentError(
            f"max_bytes must be between 0 (the server's limit) and {limit_bytes}; got {max_bytes}.",
            field="max_bytes",
        )
    if sha256 and not SHA256_RE.match(sha256):
        raise InvalidArgumentError(
            "sha256 must be 64 hexadecimal characters (or empty to skip the check).",
            field="sha256",
        )
    limit = max_bytes or limit_bytes
    suffix = file_suffix(url, fmt)
    opener = urllib.request.build_opener(_CheckedRedirects(prefixes))
    try:
        response = opener.open(urllib.request.Request(url, method="GET"), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (404, 410):
            raise NotFoundError(
                f"url: the server at the URL answered {exc.code} (no such file); check the "
                "address.",
                field="url",
            ) from None
        if exc.code >= 500:
            raise UnavailableError(
                f"url: the server at the URL answered {exc.code}; try again later.", field="url"
            ) from None
        raise InvalidArgumentError(
            f"url: the server at the URL refused the download ({exc.code}); check the address "
            "and whether it needs a presigned URL.",
            field="url",
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UnavailableError(
            f"url: cannot reach the URL's host ({type(reason).__name__}); check the address and "
            "that the host answers.",
            field="url",
        ) from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        return _save(response, temp_dir, suffix, limit, sha256)


def _too_large(limit: int) -> ResourceExhaustedError:
    return ResourceExhaustedError(
        f"the file at url is larger than {limit} bytes; raise max_bytes (up to the server's "
        "--dataset-url-max-bytes) or register a smaller file.",
        reason=Reason.RESOURCE_EXHAUSTED,
    )


def _save(response: IO[bytes], temp_dir: Path, suffix: str, limit: int, sha256: str) -> Downloaded:
    temp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(dir=temp_dir, suffix=suffix, delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            while chunk := response.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                handle.write(chunk)
        found = digest.hexdigest()
        if sha256 and found != sha256.lower():
            raise InvalidArgumentError(
                f"sha256: the downloaded file's sha256 is {found}, not the one given; check the "
                "URL (the file may have changed) or the checksum.",
                field="sha256",
                reason=Reason.CHECKSUM_MISMATCH,
            )
        if size == 0:
            raise InvalidArgumentError("url: the file at the URL is empty.", field="url")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Downloaded(path, found, size)
