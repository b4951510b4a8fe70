"""The URL checks of dataset registration from a URL (``dpquery.url_source``): the operator's
prefixes are matched on the parsed URL, never as text."""

from __future__ import annotations

import pytest
from veil_service.dpquery import url_source
from veil_service.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    PermissionDeniedError,
)

PREFIXES = ("https://data.example.org/public/", "http://127.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "https://data.example.org/public/penguins.csv",
        "https://DATA.example.org/public/a/b.parquet",
        "http://127.0.0.1:8080/x.csv",
        "http://127.0.0.1/x.csv",
    ],
)
def test_urls_under_a_prefix(url: str) -> None:
    url_source.check_url(url, PREFIXES)


@pytest.mark.parametrize(
    ("url", "error", "fragment"),
    [
        # Text prefix tricks: user info, a longer host, a sibling path.
        ("http://127.0.0.1:80@evil.example/x.csv", InvalidArgumentError, "credentials"),
        ("http://127.0.0.1.evil.example/x.csv", PermissionDeniedError, "outside"),
        ("https://data.example.org/publicity/x.csv", PermissionDeniedError, "outside"),
        ("https://data.example.org.evil/public/x.csv", PermissionDeniedError, "outside"),
        ("http://data.example.org/public/x.csv", PermissionDeniedError, "outside"),
        ("file:///etc/passwd", InvalidArgumentError, "http:// or https://"),
        ("http://", InvalidArgumentError, "with a host"),
        ("http://127.0.0.1:99999/x.csv", InvalidArgumentError, "with a host"),
    ],
)
def test_urls_refused(url: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        url_source.check_url(url, PREFIXES)
    assert fragment in str(info.value)
    assert "evil" not in str(info.value)  # the URL is not echoed


def test_no_prefixes_means_no_url_registration() -> None:
    with pytest.raises(FailedPreconditionError) as info:
        url_source.check_url("https://data.example.org/public/x.csv", ())
    assert "--dataset-url-prefix" in str(info.value)


@pytest.mark.parametrize(
    ("url", "fmt", "suffix"),
    [
        ("http://h/a.csv", "", ".csv"),
        ("http://h/a.CSV.gz", "", ".csv.gz"),
        ("http://h/a.pq", "", ".parquet"),
        ("http://h/export?id=3", "parquet", ".parquet"),
    ],
)
def test_file_suffix(url: str, fmt: str, suffix: str) -> None:
    assert url_source.file_suffix(url, fmt) == suffix
