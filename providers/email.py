"""Email senders behind ``domain.notifications.EmailSender``.

``SMTP_URL`` set (``smtp://user:pass@host:587`` with STARTTLS, or ``smtps://…:465``): mail goes
through that server. Unset: each message is written as an ``.eml`` file under the outbox
directory (``var/outbox/`` by default) for local runs and demos. Logs name the notification
file or server, never the recipient, subject or body.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.notifications import Email, EmailSender, EmailUndeliverable

logger = logging.getLogger("callfluently.email")

SMTP_TIMEOUT_S = 15.0


def _message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@callfluently>"
    message.set_content(email.body)
    return message


class SmtpEmailSender:
    """Sends through an SMTP server; smtplib runs in a worker thread with a timeout."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:587")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender

    def _send_blocking(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_S,
                                      context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
        with client:
            if not self.implicit_tls:
                client.starttls(context=context)
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)

    async def send(self, email: Email) -> None:
        try:
            await asyncio.to_thread(self._send_blocking, _message(email, self.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            raise EmailUndeliverable("recipient refused") from exc
        logger.info("email sent", extra={"smtp_host": self.host})


class OutboxFileSender:
    """Writes each message as ``<outbox>/<uuid>.eml`` (no SMTP server configured)."""

    def __init__(self, directory: str, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(message.as_bytes())
        return path

    async def send(self, email: Email) -> None:
        path = await asyncio.to_thread(self._write, _message(email, self.sender))
        logger.info("email written to the local outbox", extra={"file": path.name})


def build_email_sender(*, smtp_url: str | None, sender: str, outbox_dir: str) -> EmailSender:
    """SMTP when configured, else the local file outbox."""
    if smtp_url:
        return SmtpEmailSender(smtp_url, sender)
    return OutboxFileSender(outbox_dir, sender)
