"""A real SMTP server on the loopback interface for tests (aiosmtpd), recording what arrives."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted message; `refuse` maps an address to the answers
    RCPT TO gives it, one per attempt (then it is accepted); `after_data` runs on each message
    once it has arrived, before the server answers."""

    received: list[Received] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # every RCPT TO, refused or not
    refuse: dict[str, list[str]] = field(default_factory=dict)
    after_data: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.asked.append(address)
        answers = self.refuse.get(address)
        if answers:
            return answers.pop(0) if len(answers) > 1 else answers[0]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.lock:
            self.received.append(item)
        if self.after_data:
            self.after_data(item)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port: int, handler: Recorder | None = None):
        self.handler = handler or Recorder()
        self.port = port
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc_info):
        self.controller.stop()
