"""Sending through an SMTP server: plain, STARTTLS or implicit TLS, with optional login.

Blocking (``smtplib``): the :class:`~veil_service.email.Mailer` runs it in a worker thread so the
server's event loop never waits on a mail server.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from veil_service.email.messages import Email
from veil_service.email.mime import to_mime

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send.

    Attributes:
        host: SMTP server name.
        port: Its port (25, 587 for STARTTLS, 465 for implicit TLS).
        sender: The From address.
        user: Login name; empty means no AUTH.
        password: Login password (never logged).
        starttls: Upgrade a plain connection with STARTTLS before sending.
        tls: Connect with TLS from the start (SMTPS).
    """

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False
    tls: bool = False

    def __repr__(self) -> str:
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"user={self.user!r}, password='***', starttls={self.starttls}, tls={self.tls})"
        )


class SmtpSender:
    """Sends each message over a fresh SMTP connection (messages are rare: resets, new users)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, email: Email) -> None:
        """Deliver one message.

        Raises:
            smtplib.SMTPException, OSError: the server refused or could not be reached.
        """
        config = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if config.tls:
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_S)
        with client:
            if config.starttls and not config.tls:
                client.starttls(context=context)
            if config.user:
                client.login(config.user, config.password)
            client.send_message(to_mime(email, config.sender))
