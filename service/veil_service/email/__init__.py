"""Outgoing email: password reset tokens, new-account invitations, reset confirmations.

With ``smtp_host`` set, messages go through that SMTP server (STARTTLS/TLS and login from the
settings); without it, each message is written to ``<data_dir>/outbox``. Either way sending runs in
a worker thread, in the background: an RPC never waits on (or reveals anything through) the mail
server, which is what lets ForgottenPassword answer in the same time for known and unknown
addresses.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from veil_service.email.messages import Email
from veil_service.email.outbox import OutboxSender
from veil_service.email.smtp import SmtpConfig, SmtpSender

if TYPE_CHECKING:
    from veil_service.settings import Settings

__all__ = [
    "Email",
    "Mailer",
    "OutboxSender",
    "Sender",
    "SmtpConfig",
    "SmtpSender",
    "sender_for",
]

log = logging.getLogger("veil.email")


class Sender(Protocol):
    """Delivers one message, blocking."""

    def send(self, email: Email) -> Any:
        """Deliver ``email`` or raise."""


def sender_for(settings: Settings) -> Sender:
    """The SMTP sender when a host is configured, else the outbox under the data dir."""
    if settings.smtp_host:
        return SmtpSender(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                user=settings.smtp_user,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                tls=settings.smtp_tls,
            )
        )
    return OutboxSender(settings.data_dir / "outbox", settings.smtp_from)


class Mailer:
    """Sends messages in the background, off the event loop, logging failures without content.

    Args:
        sender: What actually delivers.
    """

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self._pending: set[asyncio.Task[None]] = set()

    def send_later(self, email: Email) -> None:
        """Queue a message from inside the event loop; returns at once."""
        task = asyncio.get_running_loop().create_task(self._deliver(email))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, email: Email) -> None:
        try:
            await asyncio.to_thread(self.sender.send, email)
        except OSError as exc:  # smtplib.SMTPException is an OSError
            # The body may carry a token: log the kind and the failure, never the content.
            log.warning("email not sent", extra={"kind": email.kind, "error": type(exc).__name__})
        else:
            log.info("email sent", extra={"kind": email.kind})

    async def drain(self) -> None:
        """Wait for queued messages (used at shutdown and by tests)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
