"""The API sends what its schemas say, read from what the services return, in every app (not
only under test); the OpenAPI document describes the same schemas."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from volunteer_app import db, settings
from volunteer_app.schemas.accounts import UserOut
from volunteer_app.schemas.common import Attrs
from volunteer_app.schemas.store import RedemptionOut

from . import factories
from .conftest import make_test_app


def test_outside_tests_the_answer_is_the_schema_read_from_the_service(tmp_path, pg_url):
    app = make_test_app(tmp_path, pg_url, TESTING=False)
    with settings.configured(app.config), db.unit_of_work(app.extensions["db_engine"]) as session:
        factories.station(session)
        clerk = factories.user(session, roles="clerk")
        volunteer = factories.user(session, balance=50)
        item = factories.store_item(session, cost=10, stock=3)
    api = factories.ApiClient(app)
    me = api.get("/api/v1/me", user=volunteer).get_json()
    assert set(me) == set(UserOut.model_fields)  # the schema's fields, the phone too (one's own)
    assert me["roles"] == ["volunteer"] and me["level"]
    answer = api.post("/api/v1/store/redemptions", user=clerk,
                      json={"user_id": volunteer.id, "item_id": item.id}).get_json()
    assert set(answer) == set(RedemptionOut.model_fields)
    assert answer["created_at"].endswith("+08:00") and answer["cancel_reason"] is None
    app.extensions["db_engine"].dispose()


def test_a_hidden_attribute_is_not_sent_and_times_are_station_time():
    person = SimpleNamespace(id=1, station_id=1, username="a", display_name="A", status="active", balance=0, lifetime_points=0,
                             hours_served=0.0, phone="13800000000")
    out = UserOut.model_validate(Attrs(person, hidden=("phone",), roles=["volunteer"], team_ids=[], level="x"))
    assert "phone" not in out.model_dump(exclude_unset=True)
    row = SimpleNamespace(id=1, user_id=2, item_id=3, quantity=1, points_spent=5, status="fulfilled", clerk_id=None,
                          cancel_reason=None, created_at=datetime(2026, 12, 6, 16, 0, tzinfo=timezone.utc),
                          cancelled_at=None, expires_at=None)
    dumped = RedemptionOut.model_validate(Attrs(row, balance_after=1, stock_after=2)).model_dump(exclude_unset=True)
    assert dumped["created_at"] == "2026-12-07T00:00:00+08:00"


def test_the_document_describes_output_times_as_text(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["schemas"]["RedemptionOut"]["properties"]["created_at"]["type"] == "string"
