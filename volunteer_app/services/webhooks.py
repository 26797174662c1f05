"""Outgoing webhooks: a station admin's subscriptions, and the sender that delivers the outbox.

* ``json``: a POST of the delivery's payload, signed ``X-Webhook-Signature: sha256=<hex HMAC of
  the raw body>`` with the webhook's secret, with ``X-Webhook-Event`` and ``X-Webhook-Delivery``.
* ``wecom`` (企业微信群机器人): ``{"msgtype": "text", "text": {"content": ...}}``; the key is in
  the URL, there is no signature.
* ``dingtalk`` (钉钉自定义机器人, 加签): the URL gains ``timestamp`` (ms) and ``sign`` =
  urlencode(base64(HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>"))).
* ``feishu`` (飞书自定义机器人, 签名校验): the body carries ``timestamp`` (s) and ``sign`` =
  base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg="")).

The chat formats say the event in one short Chinese line with a link.

Safety: a URL must be http(s), and unless ``WEBHOOK_ALLOW_PRIVATE`` its host must resolve to
public addresses only (no loopback, private, link-local, ...): checked when the webhook is made
(422) and again at every send, connecting to the address that was checked (a DNS answer that
changes in between cannot redirect the request). Redirects are failures, never followed; an
attempt times out after ``WEBHOOK_TIMEOUT_SECONDS``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import math
import secrets
import socket
import ssl
import time
from datetime import datetime, timedelta
from urllib.parse import quote_plus, urlsplit

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..errors import DomainError, FieldError
from ..models import WEBHOOK_EVENTS, Shift, User, Webhook, WebhookDelivery
from ..settings import setting
from ..timeutil import as_utc, local, utcnow
from . import access, outbox

TEST_EVENT = "webhook.test"
USER_AGENT = "volunteer-app-webhooks/1"


# --- managing webhooks ------------------------------------------------------------------------

def _require_admin(actor: User) -> None:
    access.require_role(actor, "admin")


def check_url(url: str) -> None:
    """Refuse (422 on ``url``) what the sender must not reach."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FieldError("url", _l("The address must start with http:// or https://."))
    try:
        parts.port
    except ValueError:
        raise FieldError("url", _l("The address has a bad port.")) from None
    try:
        public_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except UnsafeAddress as error:
        raise FieldError("url", error.message) from None


class UnsafeAddress(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all of them allowed, or :class:`UnsafeAddress`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeAddress(_l("The address's host name cannot be resolved.")) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not setting("WEBHOOK_ALLOW_PRIVATE") and not all(_allowed(address) for address in addresses):
        raise UnsafeAddress(_l("The address points into a private network; that is not allowed."))
    return addresses


def create_webhook(session: Session, actor: User, *, url: str, events: list[str], format: str = "json",
                   secret: str | None = None) -> Webhook:
    _require_admin(actor)
    check_url(url)
    events = [event for event in WEBHOOK_EVENTS if event in set(events)]
    if not events:
        raise FieldError("events", _l("Choose at least one event."))
    hook = Webhook(station_id=actor.station_id, url=url, events=",".join(events), format=format,
                   secret=secret or secrets.token_urlsafe(24), created_by=actor.id, created_at=utcnow())
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session, actor: User) -> list[Webhook]:
    _require_admin(actor)
    return list(session.exec(select(Webhook).where(Webhook.station_id == actor.station_id, Webhook.active == True)  # noqa: E712
                             .order_by(Webhook.id.desc())))


def get_webhook(session: Session, actor: User, webhook_id: int) -> Webhook:
    _require_admin(actor)
    hook = access.get_in_station(session, Webhook, webhook_id, actor, _l("No such webhook."))
    if not hook.active:
        raise DomainError("not_found", _l("No such webhook."))
    return hook


def delete_webhook(session: Session, actor: User, webhook_id: int) -> None:
    """Nothing more is queued or sent for it; its deliveries stay as a record."""
    hook = get_webhook(session, actor, webhook_id)
    hook.active = False
    session.add(hook)
    for delivery in session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id,
                                                               WebhookDelivery.status == "pending")):
        delivery.status = "failed"
        delivery.last_error = "webhook deleted"
        session.add(delivery)
    session.flush()


def deliveries(session: Session, actor: User, webhook_id: int, *, limit: int = 50) -> list[WebhookDelivery]:
    hook = get_webhook(session, actor, webhook_id)
    return list(session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                             .order_by(WebhookDelivery.id.desc()).limit(limit)))


def send_test(session: Session, actor: User, webhook_id: int) -> WebhookDelivery:
    """Queue a test event for one webhook (sent by the worker like any other)."""
    hook = get_webhook(session, actor, webhook_id)
    now = utcnow()
    delivery = WebhookDelivery(station_id=hook.station_id, webhook_id=hook.id, event=TEST_EVENT, payload="",
                               next_attempt_at=now, give_up_at=now + outbox.GIVE_UP_AFTER, created_at=now)
    session.add(delivery)
    session.flush()
    delivery.payload = json.dumps({"id": delivery.id, "event": TEST_EVENT, "occurred_at": now.isoformat(),
                                   "station_id": hook.station_id, "data": {}}, ensure_ascii=False)
    session.flush()
    return delivery


def redeliver(session: Session, actor: User, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a failed delivery again (a delivered one is never sent again: 409 ``conflict``)."""
    hook = get_webhook(session, actor, webhook_id)
    delivery = access.get_in_station(session, WebhookDelivery, delivery_id, actor, _l("No such delivery."))
    if delivery.webhook_id != hook.id:
        raise DomainError("not_found", _l("No such delivery."))
    if delivery.status != "failed":
        raise DomainError("conflict", _l("Only a failed delivery can be sent again."))
    return outbox.redeliver(session, delivery)


# --- what a chat group reads -------------------------------------------------------------------

LEVEL_WORDS = {"red": _l("Red"), "yellow": _l("Yellow"), "blue": _l("Blue")}


def _link(path: str) -> str:
    base = (setting("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}{path}" if base else ""


def _days(due: str | None, occurred: str | None) -> int | None:
    try:
        span = datetime.fromisoformat(due) - datetime.fromisoformat(occurred)
    except (TypeError, ValueError):
        return None
    return max(1, math.ceil(span / timedelta(days=1)))


def _when(value: str | None) -> str:
    try:
        return local(as_utc(datetime.fromisoformat(value))).strftime("%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def chat_text(event: str, data: dict, occurred_at: str | None = None) -> str:
    """One short line in Chinese: "【红色线索】湖滨路 · 疑似诈骗 · 请在 1 天内处置 · 链接"."""
    from .tips import CATEGORY_LABELS
    with force_locale("zh_CN"):
        parts: list[str]
        if event in ("tip.created", "tip.triaged"):
            category = str(CATEGORY_LABELS.get(data.get("category"), data.get("category") or ""))
            if event == "tip.triaged" and data.get("level") in LEVEL_WORDS:
                head = gettext("[%(level)s tip]", level=str(LEVEL_WORDS[data["level"]]))
            else:
                head = gettext("[New tip]")
            parts = [head + (data.get("place") or ""), category]
            days = _days(data.get("due_at"), occurred_at) if event == "tip.triaged" else None
            if days:
                parts.append(gettext("deal with it within %(n)s days", n=days))
            path = f"/manage/tips#tip-{data.get('id')}"
        elif event == "shift.understaffed":
            parts = [gettext("[Shift short of people]") + (data.get("title") or ""), _when(data.get("starts_at")),
                     gettext("%(n)s of %(c)s confirmed", n=data.get("confirmed_count", 0), c=data.get("capacity", 0))]
            path = f"/manage/shifts/{data.get('id')}"
        elif event == "callout.created":
            parts = [gettext("[Call-out]") + (data.get("title") or ""), data.get("place") or "",
                     gettext("%(n)s people needed", n=data.get("needed", 0))]
            path = f"/callouts/{data.get('id')}"
        elif event == "callout.answered":
            parts = [gettext("[Call-out answered]") + (data.get("title") or ""),
                     gettext("%(n)s of %(c)s coming", n=data.get("coming_count", 0), c=data.get("needed", 0))]
            path = f"/callouts/{data.get('id')}"
        elif event == "service.pending":
            parts = [gettext("[Service hours to review]") + (data.get("place") or ""),
                     gettext("%(n)s minutes", n=data.get("minutes", 0))]
            path = "/staff/service"
        elif event == "care.concern":
            parts = [gettext("[Care visit concern]") + (data.get("label") or ""), data.get("grid") or "",
                     gettext("please follow up soon")]
            path = f"/care/{data.get('household_id')}"
        elif event == "store.low_stock":
            parts = [gettext("[Low stock]") + (data.get("name") or ""), gettext("%(n)s left", n=data.get("stock", 0))]
            path = f"/store/manage/{data.get('id')}"
        else:
            parts = [gettext("[Test] The volunteer platform's webhook works.")]
            path = ""
        link = _link(path) if path else ""
        return " · ".join(part for part in [*parts, link] if part)


# --- building and sending one delivery ---------------------------------------------------------

def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def build_request(hook: Webhook, delivery: WebhookDelivery, *, now: float | None = None) -> tuple[str, bytes, dict]:
    """The URL, body and headers of one attempt."""
    now = time.time() if now is None else now
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if hook.format == "json":
        body = delivery.payload.encode("utf-8")
        headers.update({"X-Webhook-Event": delivery.event, "X-Webhook-Delivery": str(delivery.id),
                        "X-Webhook-Signature": "sha256=" + hmac.new(hook.secret.encode(), body,
                                                                    hashlib.sha256).hexdigest()})
        return hook.url, body, headers
    payload = json.loads(delivery.payload)
    text = chat_text(delivery.event, payload.get("data") or {}, payload.get("occurred_at"))
    url = hook.url
    if hook.format == "feishu":
        stamp = str(int(now))
        sign = base64.b64encode(_hmac(f"{stamp}\n{hook.secret}".encode(), b"")).decode()
        message = {"timestamp": stamp, "sign": sign, "msg_type": "text", "content": {"text": text}}
    else:
        message = {"msgtype": "text", "text": {"content": text}}
        if hook.format == "dingtalk":
            stamp = str(int(now * 1000))
            sign = base64.b64encode(_hmac(hook.secret.encode(), f"{stamp}\n{hook.secret}".encode())).decode()
            url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={quote_plus(sign)}"
    return url, json.dumps(message, ensure_ascii=False).encode("utf-8"), headers


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate checked for the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> int:
    """POST once; the status code (redirects are not followed). Raises ``OSError``,
    ``http.client.HTTPException`` or :class:`UnsafeAddress`."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = public_addresses(parts.hostname, port)[0]
    if parts.scheme == "https":
        conn = _PinnedHTTPS(parts.hostname, port, address, timeout)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    headers = {**headers, "Host": host if parts.port is None else f"{host}:{parts.port}"}
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def attempt(hook: Webhook, delivery: WebhookDelivery) -> tuple[bool, int | None, str]:
    """Send one attempt: (ok, status code, error)."""
    try:
        url, body, headers = build_request(hook, delivery)
        status = post(url, body, headers, timeout=float(setting("WEBHOOK_TIMEOUT_SECONDS")))
    except UnsafeAddress:
        return False, None, "address refused: unresolvable or in a private network"
    except (OSError, http.client.HTTPException, ValueError) as error:
        return False, None, f"{type(error).__name__}: {error}"[:300]
    if 300 <= status < 400:
        return False, status, "redirect not followed"
    return 200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}"


def deliver_due(session: Session, *, limit: int | None = None) -> int:
    """Claim and send due deliveries one at a time until none is due (or ``limit`` were sent);
    returns how many attempts were made. Each claim and each result is its own short commit;
    nothing is held open while a receiver answers."""
    def deliver(claimed) -> bool:
        delivery, hook = claimed
        if not hook.active:
            outbox.finish(session, delivery, ok=False, status_code=None, error="webhook deleted", final=True)
            return False
        ok, status_code, error = attempt(hook, delivery)
        outbox.finish(session, delivery, ok=ok, status_code=status_code, error=error)
        return True

    return outbox.drain(lambda: next(iter(outbox.claim(session, limit=1)), None), deliver, limit=limit)


# --- the periodic pass: shifts short of people -------------------------------------------------

def understaffed_pass(session: Session, *, now: datetime | None = None) -> int:
    """Tell each shift starting within 24 h with fewer confirmed than its capacity, once per
    shift and webhook (``shift.understaffed``). Returns the deliveries queued."""
    from ..schemas.shifts import ShiftOut
    from ..schemas.common import Attrs
    from .shifts import counts_for, routes_for
    now = now or utcnow()
    stations = set(session.exec(select(Webhook.station_id).where(Webhook.active == True)))  # noqa: E712
    if not stations:
        return 0
    shifts = list(session.exec(select(Shift).where(
        Shift.station_id.in_(stations), Shift.cancelled == False,  # noqa: E712
        Shift.starts_at > now, Shift.starts_at <= now + timedelta(hours=24))))
    counts = counts_for(session, [shift.id for shift in shifts])
    routes = routes_for(session, [shift.id for shift in shifts])
    queued = 0
    for shift in shifts:
        confirmed = counts[shift.id]["confirmed"]
        if confirmed >= shift.capacity:
            continue
        data = Attrs(shift, checkpoint_ids=routes[shift.id], confirmed_count=confirmed,
                     waitlist_count=counts[shift.id]["waitlisted"])
        queued += outbox.emit(session, shift.station_id, "shift.understaffed", lambda d=data: outbox.dump(ShiftOut, d),
                              dedupe_key=f"shift.understaffed:{shift.id}", now=now)
    return queued
