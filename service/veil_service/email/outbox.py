"""The embedded default sender: each message becomes a file in ``<data_dir>/outbox``.

Lets a single-machine install (and a developer) work without a mail server: the operator reads
the token from the file. Files are written to a temporary name and renamed, so a reader never
sees half a message.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from veil_service.email.messages import Email
from veil_service.email.mime import to_mime


class OutboxSender:
    """Writes each message as an RFC 5322 ``.eml`` file.

    Args:
        directory: The outbox folder (created when missing).
        sender: The From address.
    """

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, email: Email) -> Path:
        """Write one message; return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(to_mime(email, self.sender).as_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        # The outbox may hold reset tokens: readable by the service account only.
        os.chmod(temporary, 0o600)
        os.replace(temporary, final)
        return final
