"""The start-up log line shows the settings with every secret masked."""

from __future__ import annotations

from veil_service.settings import Settings, masked_url


def test_a_password_in_the_database_urls_query_is_masked() -> None:
    """libpq takes ``?password=`` as well as ``user:pass@``; only the second was masked."""
    settings = Settings(
        database_url="postgresql+psycopg://veil:s3cret@db:5432/veil?password=0ther&sslmode=require",
        smtp_password="mail-secret",
    )
    shown = str(settings.masked())
    assert "s3cret" not in shown and "0ther" not in shown and "mail-secret" not in shown
    assert settings.masked()["database_url"] == (
        "postgresql+psycopg://***@db:5432/veil?password=***&sslmode=require"
    )


def test_urls_without_secrets_are_shown_as_written() -> None:
    assert masked_url("sqlite:////var/lib/veil/veil.db") == "sqlite:////var/lib/veil/veil.db"
    assert masked_url("postgresql+psycopg:///veil?host=/run/pg") == (
        "postgresql+psycopg:///veil?host=/run/pg"
    )
    assert masked_url("postgresql://h/db?sslpassword=x&sslmode=verify-full") == (
        "postgresql://h/db?sslpassword=***&sslmode=verify-full"
    )
