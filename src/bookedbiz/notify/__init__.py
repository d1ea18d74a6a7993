"""Alerts through Apprise (ntfy, Slack, e-mail, ...) with redaction and bounded delivery time."""

from bookedbiz.notify.message import Level, Message, failure_body, tail_lines
from bookedbiz.notify.redact import Redactor, describe_url, redact
from bookedbiz.notify.send import Delivery, send_message, target_urls

__all__ = [
    "Delivery",
    "Level",
    "Message",
    "Redactor",
    "describe_url",
    "failure_body",
    "redact",
    "send_message",
    "tail_lines",
    "target_urls",
]
