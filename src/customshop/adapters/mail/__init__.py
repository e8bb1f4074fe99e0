"""Sending email: by SMTP (``SmtpMailer``), or into a folder of ``.eml`` files (``FolderMailer``, the
embedded default). Both write the same MIME message, built here."""

from __future__ import annotations

import email.message
import email.utils

from customshop.application.ports import EmailMessage


def mime_message(message: EmailMessage, sender: str) -> email.message.EmailMessage:
    """``message`` as a ``multipart/alternative`` MIME message: the text part first, then the HTML
    one (mail readers show the last part they can display). ``Date`` is the time of this call.

    Raises:
        ValueError: a header value holds a line break (header injection is refused, not escaped).
    """
    mime = email.message.EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime


__all__ = ["mime_message"]
