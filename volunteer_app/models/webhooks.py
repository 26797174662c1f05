"""Outgoing webhooks: a station's subscriptions, and the outbox of deliveries written in the same
transaction as the change they tell of (sent afterwards by the delivery worker)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import utc_field

WEBHOOK_EVENTS = ("tip.created", "tip.triaged", "shift.understaffed", "callout.created", "callout.answered",
                  "service.pending", "store.low_stock", "care.concern")
WEBHOOK_FORMATS = ("json", "wecom", "dingtalk", "feishu")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_station_active", "station_id", "active"),)
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    url: str = Field(max_length=2000)
    #: Comma-separated event names.
    events: str = Field(max_length=400)
    format: str = Field(default="json", max_length=16)
    secret: str = Field(max_length=200)
    #: False once deleted: its deliveries stay as a record, nothing new is queued or sent.
    active: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field(default_now=True)

    def event_list(self) -> list[str]:
        return [name for name in self.events.split(",") if name]


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook. ``payload`` is the JSON body of the ``json`` format; the chat
    formats are built from it when sent. A worker claims a row by moving ``next_attempt_at`` past
    its lease and writing its ``claim`` token, in one short write."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
        #: Events told once (e.g. "shift.understaffed:12"): one delivery per webhook.
        UniqueConstraint("webhook_id", "dedupe_key", name="uq_webhook_deliveries_dedupe"),
    )
    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="stations.id")
    webhook_id: int = Field(foreign_key="webhooks.id")
    event: str = Field(max_length=32)
    payload: str
    dedupe_key: str | None = Field(default=None, max_length=96)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_field()
    #: After this the delivery is given up (failed): 24 hours after it was queued (or redelivered).
    give_up_at: datetime = utc_field()
    claim: str | None = Field(default=None, max_length=32)
    last_status_code: int | None = Field(default=None)
    last_error: str = Field(default="", max_length=300)
    created_at: datetime = utc_field(default_now=True)
    delivered_at: datetime | None = utc_field(nullable=True)
