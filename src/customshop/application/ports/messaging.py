"""Jobs, webhook deliveries and emails on their way out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from customshop.application.ports.unavailable import Unavailable


class JobQueue(Protocol):
    """Runs named jobs with JSON payloads outside the request, at least once.

    ``enqueue`` returns once the job is accepted (durably, for a networked queue); a backend that
    cannot be reached raises ``QueueUnavailable``.
    """

    async def enqueue(self, job: str, payload: Mapping[str, Any], *, job_id: str) -> None: ...


class QueueUnavailable(Unavailable):
    """The job queue cannot be reached."""

    dependency = "the job queue"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one attempt to deliver a webhook.

    ``status`` is the receiver's HTTP status, or ``None`` when there was no answer (refused
    destination, no connection, timeout), and then ``error`` says why. ``duration_ms`` is the
    attempt's wall time, destination check included.
    """

    status: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        """Whether the receiver answered 2xx (Standard Webhooks' only success; 3xx is a failure)."""
        return self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    """Sends webhook requests to partners' URLs."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        """POST ``body`` (JSON) with ``headers`` to ``url``, once: no retry, no redirect followed.
        A ``trusted`` URL (the shop's own configuration, not a partner's) may be on a private network.

        Never raises for a failed attempt: a destination that may not be called, a network error or a
        timeout is a result with ``status=None`` and an ``error``. The attempt takes no longer than
        the sender's timeout.
        """
        ...


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One email to one recipient, with a plain-text and an HTML version of the same content.

    ``message_id`` is the ``Message-ID`` header, an RFC 5322 msg-id such as ``<a.b@example.com>``;
    it stays the same when the email is sent again, so the recipient's mail system can tell.
    """

    to: str
    subject: str
    text: str
    html: str
    message_id: str


class MailUnavailable(Unavailable):
    """The mail server cannot be reached, or refused the message for now; sending later may succeed."""

    dependency = "the mail server"


class MailRejected(Exception):
    """The mail server refused the message for good (a 5xx answer, such as an unknown recipient)."""


class Mailer(Protocol):
    """Sends emails from the shop's address."""

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery, once: no retry.

        Raises:
            MailUnavailable: the server cannot be reached or refused temporarily.
            MailRejected: the server refused the message permanently.
        """
        ...
