"""Purchase-order delivery to suppliers: email (SMTP), signed HTTP JSON, and pluggable
channels (``tryton``, ``shipbob``) registered by name.

``Supplier.delivery`` picks the channel: ``{"method": "email" | "http" | "tryton" |
"shipbob", ...}`` (``email`` when no method is set). :func:`send_approved` sends every
approved order exactly once; see :mod:`connector.delivery.sender` for the guarantees.
"""
from .channels import (Channel, ChannelCall, ChannelNotConfigured, DeliveryError,
                       channel_names, get_channel, register_channel, unregister_channel)
from .document import CSV_COLUMNS, DocumentLine, OrderDocument, build_document, payload_bytes
from .http_post import SIGNATURE_HEADER, sign, verify
from .pdf import text_pdf
from .sender import INTERRUPTED, SendOutcome, SendReport, delivery_method, send_approved
from .settings import DeliveryConfigError, DeliverySettings, SmtpServer, parse_smtp_url

__all__ = [
    "send_approved", "SendReport", "SendOutcome", "delivery_method", "INTERRUPTED",
    "register_channel", "unregister_channel", "get_channel", "channel_names", "Channel",
    "ChannelCall", "DeliveryError", "ChannelNotConfigured", "DeliverySettings",
    "DeliveryConfigError", "SmtpServer", "parse_smtp_url", "OrderDocument", "DocumentLine",
    "build_document", "payload_bytes", "CSV_COLUMNS", "text_pdf", "sign", "verify",
    "SIGNATURE_HEADER",
]
