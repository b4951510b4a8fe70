"""Turning an :class:`Email` into a standard MIME message, shared by every sender."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from veil_service.email.messages import Email


def to_mime(email: Email, sender: str) -> EmailMessage:
    """The RFC 5322 message for ``email`` sent from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(email.body)
    return message
