"""Email: the outbox writer, the SMTP sender's connection modes, the message texts."""

from __future__ import annotations

import stat
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, ClassVar

import pytest
from veil_service.email import OutboxSender, SmtpSender, sender_for
from veil_service.email import smtp as smtp_module
from veil_service.email.messages import password_changed, password_reset
from veil_service.email.smtp import SmtpConfig
from veil_service.settings import Settings


def test_outbox_writes_one_private_file_per_message_with_the_token_line(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox", "veil@example.org")
    path = sender.send(password_reset("ada@example.org", "tok-123", 24))
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert (message["To"], message["From"]) == ("ada@example.org", "veil@example.org")
    text = message.get_body().get_content()  # type: ignore[union-attr]
    assert "\nToken: tok-123\n" in text and "24 hours" in text


def test_confirmation_carries_no_token() -> None:
    assert "Token:" not in password_changed("ada@example.org").body


class FakeSmtp:
    """Records what an SMTP session did."""

    sessions: ClassVar[list[FakeSmtp]] = []

    def __init__(self, host: str, port: int, timeout: float, context: Any = None) -> None:
        self.calls: list[tuple[str, Any]] = [("connect", (host, port, context is not None))]
        FakeSmtp.sessions.append(self)

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("quit", None))

    def starttls(self, context: Any) -> None:
        self.calls.append(("starttls", None))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user))

    def send_message(self, message: Any) -> None:
        self.calls.append(("send", message["To"]))


@pytest.fixture()
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSmtp]:
    FakeSmtp.sessions = []
    monkeypatch.setattr(smtp_module.smtplib, "SMTP", FakeSmtp)
    monkeypatch.setattr(smtp_module.smtplib, "SMTP_SSL", FakeSmtp)
    return FakeSmtp


@pytest.mark.parametrize(
    ("starttls", "tls", "user", "expected"),
    [
        (False, False, "", ["connect", "send", "quit"]),
        (True, False, "mailer", ["connect", "starttls", "login", "send", "quit"]),
        (False, True, "mailer", ["connect", "login", "send", "quit"]),
    ],
)
def test_smtp_modes(
    fake_smtp: type[FakeSmtp], starttls: bool, tls: bool, user: str, expected: list[str]
) -> None:
    config = SmtpConfig("mail.example.org", 587, "veil@example.org", user, "s3cret", starttls, tls)
    SmtpSender(config).send(password_reset("ada@example.org", "tok", 24))
    # Only this test's sessions: smtplib is patched process-wide, and a server another test
    # module started may still send its mail in the background (to its loopback SMTP server).
    (session,) = [s for s in fake_smtp.sessions if s.calls[0][1][0] == "mail.example.org"]
    assert [name for name, _ in session.calls] == expected
    assert session.calls[0][1] == ("mail.example.org", 587, tls)  # implicit TLS gets a context


def test_smtp_password_stays_out_of_reprs() -> None:
    config = SmtpConfig("h", 25, "f@example.org", "u", "s3cret")
    assert "s3cret" not in repr(config)


def test_sender_follows_the_settings(tmp_path: Path) -> None:
    assert isinstance(sender_for(Settings(data_dir=tmp_path)), OutboxSender)
    smtp = sender_for(
        Settings(
            data_dir=tmp_path,
            smtp_host="mail",
            smtp_port=2525,
            smtp_starttls=True,
            smtp_user="u",
            smtp_password="p",
        )
    )
    assert isinstance(smtp, SmtpSender)
    assert (smtp.config.host, smtp.config.port, smtp.config.starttls) == ("mail", 2525, True)
