"""Email by SMTP, with aiosmtplib."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import aiosmtplib

from customshop.adapters.mail import mime_message
from customshop.application.ports import EmailMessage, MailRejected, MailUnavailable

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class SmtpMailer:
    """Implements ``Mailer`` by connecting to the SMTP server for each message.

    ``url`` is ``smtp://user:pass@host:port`` (plain, upgraded with STARTTLS when the server offers
    it) or ``smtps://user:pass@host:port`` (TLS from the start); the credentials are optional and
    percent-decoded, the ports default to 25 and 465. Certificates are verified. Holds no connection
    between messages, so there is nothing to close.

    A 5xx refusal of the recipient or of the content raises ``MailRejected``. Everything else that
    goes wrong (no connection, a timeout, a 4xx answer, refused credentials or sender, which an
    operator can fix) raises ``MailUnavailable``, so the message is tried again later.

    Raises:
        ValueError: ``url`` is not an ``smtp://`` or ``smtps://`` URL with a host (at construction).
    """

    def __init__(self, url: str, sender: str, timeout_seconds: float = 20) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp://user:pass@host:port or smtps://host:port")
        self._hostname = parts.hostname
        self._port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._implicit_tls = parts.scheme == "smtps"
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._sender = sender
        self._timeout = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        mime = mime_message(message, self._sender)
        try:
            await aiosmtplib.send(
                mime,
                hostname=self._hostname,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._implicit_tls,
                # None: STARTTLS when the server offers it; never with implicit TLS.
                start_tls=False if self._implicit_tls else None,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            if codes and all(code >= 500 for code in codes):
                raise MailRejected(f"the mail server refused the recipient: {_describe(exc)}") from exc
            raise MailUnavailable(f"the mail server deferred the recipient: {_describe(exc)}") from exc
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:
                raise MailRejected(f"the mail server refused the message: {exc.code} {exc.message}") from exc
            raise MailUnavailable(f"the mail server deferred the message: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailUnavailable(f"the mail server answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors too
            raise MailUnavailable(
                f"cannot reach the mail server at {self._hostname}:{self._port}: {exc}"
            ) from exc


def _describe(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
