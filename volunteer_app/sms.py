"""Sending text messages (SMS): one small interface and its two senders, chosen by ``SMS_SENDER``.

* ``log`` (the default): writes the message to the log, the number masked (138****8000); nothing
  leaves the server. For trying things out and for stations without a gateway contract.
* ``http``: a POST of JSON ``{"phone": ..., "text": ...}`` to ``SMS_GATEWAY_URL`` with
  ``Authorization: Bearer <SMS_GATEWAY_TOKEN>``, within ``SMS_TIMEOUT_SECONDS``; a 2xx answer is
  sent, anything else is retried. The URL is guarded like a webhook's (http(s) only, no private
  addresses unless ``WEBHOOK_ALLOW_PRIVATE``, redirects never followed).

A sender's ``send(phone, text)`` returns when the message was taken and raises :class:`SmsFailed`
otherwise. :func:`deliver_due` is what the delivery worker runs: the messages of
``services.sms_queue``, claimed in the database, one at a time.
"""
from __future__ import annotations

import http.client
import json
import logging
from typing import Protocol
from urllib.parse import urlsplit

from sqlmodel import Session

from .services import outbox, sms_queue, webhooks
from .settings import setting

log = logging.getLogger(__name__)
USER_AGENT = "volunteer-app-sms/1"


class SmsFailed(Exception):
    """The message was not taken (retried later); the text says why, without the number."""


class Sender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


def mask(phone: str) -> str:
    """138****8000: the first three and the last four digits, the rest hidden."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


class LogSender:
    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", mask(phone), text)


class HttpSender:
    def __init__(self, url: str, token: str, timeout: float):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, phone: str, text: str) -> None:
        parts = urlsplit(self.url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SmsFailed("SMS_GATEWAY_URL must be an http(s) address")
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
                   "Authorization": f"Bearer {self.token}"}
        try:
            status = webhooks.post(self.url, body, headers, timeout=self.timeout)
        except webhooks.UnsafeAddress:
            raise SmsFailed("address refused: unresolvable or in a private network") from None
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise SmsFailed(f"{type(error).__name__}: {error}"[:300]) from None
        if not 200 <= status < 300:
            raise SmsFailed("redirect not followed" if 300 <= status < 400 else f"HTTP {status}")


class _Misconfigured:
    def send(self, phone: str, text: str) -> None:
        raise SmsFailed("SMS_SENDER must be log or http")


def sender_from_settings() -> Sender:
    kind = (setting("SMS_SENDER") or "log").strip().lower()
    if kind == "log":
        return LogSender()
    if kind == "http":
        return HttpSender(setting("SMS_GATEWAY_URL") or "", setting("SMS_GATEWAY_TOKEN") or "",
                          float(setting("SMS_TIMEOUT_SECONDS")))
    return _Misconfigured()


def deliver_due(session: Session, *, sender: Sender | None = None, limit: int | None = None) -> int:
    """Claim and send due messages one at a time until none is due (or ``limit`` were tried);
    returns the attempts made. Nothing is held open while the gateway answers."""
    sender = sender or sender_from_settings()

    def deliver(claimed) -> bool:
        message, phone = claimed
        if not (phone or "").strip():
            sms_queue.finish(session, message, ok=False, error="no phone number", final=True)
            return True
        try:
            sender.send(phone.strip(), message.text)
        except SmsFailed as error:
            sms_queue.finish(session, message, ok=False, error=str(error))
        else:
            sms_queue.finish(session, message, ok=True)
        return True

    return outbox.drain(lambda: next(iter(sms_queue.claim(session, limit=1)), None), deliver, limit=limit)
