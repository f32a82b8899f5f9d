"""The ``email`` channel: the order to the supplier by SMTP, with CSV and PDF attachments.

Supplier settings (``Supplier.delivery``): ``{"method": "email", "to": "...", "cc": "..."}``;
``to`` defaults to ``Supplier.email``. The server and sender come from
:class:`~connector.delivery.settings.DeliverySettings` (``RESTOCK_SMTP_URL``,
``RESTOCK_SMTP_FROM``).

Every attempt for one order carries the same Message-ID
(:meth:`~connector.delivery.document.OrderDocument.message_id`), so a repeated email can be
recognised as the same message by the supplier's mail system. SMTP itself has no
idempotency: the sender never repeats an email on its own after an interrupted attempt.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from .channels import ChannelCall, ChannelNotConfigured, DeliveryError

__all__ = ["build_message", "send_email"]


def _domain(address: str) -> str:
    addr = parseaddr(address)[1]
    return addr.rsplit("@", 1)[1] if "@" in addr else "restock.invalid"


def build_message(call: ChannelCall) -> EmailMessage:
    """The email of ``call.order``: text body, ``<number>.csv`` and ``<number>.pdf``."""
    doc, config, settings = call.order, call.config, call.settings
    to = config.get("to") or doc.supplier_email
    if not to:
        raise ChannelNotConfigured(f"supplier {doc.supplier_name!r} has no email address: set "
                                   "its email (or delivery.to)")
    if not settings.smtp_from:
        raise ChannelNotConfigured("email delivery needs a sender address: set "
                                   "RESTOCK_SMTP_FROM")
    msg = EmailMessage()
    msg["Subject"] = f"Purchase order {doc.number} from {doc.shop_name}"
    msg["From"] = settings.smtp_from
    msg["To"] = to
    if config.get("cc"):
        msg["Cc"] = config["cc"]
    msg["Message-ID"] = doc.message_id(_domain(settings.smtp_from))
    msg["Date"] = format_datetime(call.now)
    msg["X-Restock-Order"] = doc.number
    msg["X-Restock-Idempotency-Key"] = doc.idempotency_key
    body = [f"Hello {doc.supplier_name},", "",
            f"please find attached purchase order {doc.number} (CSV and PDF).", ""]
    msg.set_content("\n".join(body + doc.text_lines() + ["", f"-- {doc.shop_name}"]))
    msg.add_attachment(doc.to_csv(), maintype="text", subtype="csv",
                       filename=f"{doc.number}.csv")
    msg.add_attachment(doc.to_pdf(), maintype="application", subtype="pdf",
                       filename=f"{doc.number}.pdf")
    return msg


def _refusal(code: int, text, what: str) -> DeliveryError:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return DeliveryError(f"SMTP {code} {what}: {text}", permanent=500 <= code < 600)


def send_email(call: ChannelCall) -> str:
    """Send the order by SMTP; returns the Message-ID.

    Raises:
        DeliveryError: refused by the server (``permanent`` for 5xx replies) or unreachable.
        ChannelNotConfigured: no server, sender or recipient.
    """
    msg = build_message(call)
    server = call.settings.smtp()
    timeout = float(call.config.get("timeout") or call.settings.timeout)
    try:
        if server.tls:
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with client:
            client.ehlo()
            if not server.tls and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if server.user:
                client.login(server.user, server.password or "")
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _refusal(code, text, f"refused recipient {msg['To']}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise _refusal(exc.smtp_code, exc.smtp_error, f"refused sender {exc.sender}") from None
    except smtplib.SMTPResponseException as exc:
        raise _refusal(exc.smtp_code, exc.smtp_error, "refused the message") from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise DeliveryError(f"SMTP server {server.host}:{server.port} failed: "
                            f"{type(exc).__name__}: {exc}") from None
    return msg["Message-ID"]
