"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the auth tests."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

TOKEN_PREFIX = "Token: "


class _PortZeroController(Controller):  # type: ignore[misc]
    """aiosmtpd's Controller, able to listen on port 0 (it probes its own port on start)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Mailbox:
    """Messages received by a loopback SMTP server; ``host``/``port`` to configure Veil with."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller = _PortZeroController(self, hostname="127.0.0.1", port=0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> Mailbox:
        """Start listening."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    @property
    def host(self) -> str:
        """Address to send to."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """Port to send to."""
        return int(self._controller.port)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages received for ``address`` so far, oldest first."""
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until ``address`` has at least ``count`` messages; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.to(address)
            if len(received) >= count:
                return received
            time.sleep(0.05)
        raise AssertionError(
            f"{address} got {len(self.to(address))} of {count} messages within {timeout} s"
        )


def body(message: EmailMessage) -> str:
    """The plain-text body of a message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    """The reset token: the line of the body that starts with ``Token: ``."""
    lines = [line for line in body(message).splitlines() if line.startswith(TOKEN_PREFIX)]
    assert len(lines) == 1, f"expected one token line, got {len(lines)}"
    return lines[0].removeprefix(TOKEN_PREFIX).strip()


_SHARED: dict[str, Any] = {}

MAIL_SERVER_THROTTLE = {"max_per_account": 2, "max_per_peer": 4, "window_seconds": 600.0}
"""Low login limits on the mail server, so the throttling tests need few attempts."""


def shared_mail_server(request: Any, tmp_path_factory: Any) -> tuple[Any, Mailbox]:
    """One Veil server sending through a loopback SMTP server, shared by the auth test modules.

    Started on first use and stopped at the end of the test session.
    """
    if "server" not in _SHARED:
        from support import start_server

        mailbox = Mailbox().start()
        server = start_server(
            tmp_path_factory.mktemp("veil-mail"),
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
            smtp_from="veil@test.invalid",
            extra={"login_throttle": MAIL_SERVER_THROTTLE},
            web_port=0,  # a reset must end web sign-ins too (tests/security/test_reset_and_keys)
        )
        _SHARED.update(server=server, mailbox=mailbox)

        def stop() -> None:
            _SHARED.pop("server").stop()
            _SHARED.pop("mailbox").stop()

        request.config.add_cleanup(stop)
    return _SHARED["server"], _SHARED["mailbox"]
