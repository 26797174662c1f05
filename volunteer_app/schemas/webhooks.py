"""Outgoing webhooks."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import ApiInput, ApiOutput, StationTime

Event = Literal["tip.created", "tip.triaged", "shift.understaffed", "callout.created", "callout.answered",
                "service.pending", "store.low_stock", "care.concern"]
Format = Literal["json", "wecom", "dingtalk", "feishu"]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Secret = Annotated[str, StringConstraints(min_length=8, max_length=200)]


class WebhookCreate(ApiInput):
    url: Url
    events: Annotated[list[Event], Field(min_length=1, max_length=len(Event.__args__))]
    format: Format = "json"
    #: Generated when not given; for DingTalk and Feishu, the robot's own secret (加签 / 签名校验).
    secret: Secret | None = None


class WebhookOut(ApiOutput):
    id: int
    url: str
    events: list[str]
    format: Format
    #: Shown in full only in the answer that made the webhook.
    secret: str | None = None
    created_at: StationTime


class WebhookList(ApiOutput):
    webhooks: list[WebhookOut]


class DeliveryOut(ApiOutput):
    id: int
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    created_at: StationTime
    delivered_at: StationTime | None


class DeliveryList(ApiOutput):
    deliveries: list[DeliveryOut]
