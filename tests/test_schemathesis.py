"""Property-based attack on the JSON API: schemathesis generates requests for every operation of
``/api/v1/openapi.json`` (loaded from the Flask app over WSGI) as an admin, and every answer must
not be a server error and must match the schema (status code documented, content type, body).

Each operation gets valid requests (positive) and invalid ones (negative: wrong types, missing or
extra fields), with generated ids mostly pointed at rows that exist. Bounded: a few examples per
operation and mode, derandomized (the same cases every run), no deadline.
"""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import checks

from volunteer_app import db

from . import factories

MAX_EXAMPLES = 5


@pytest.fixture
def world(app):
    """An admin's token and one row of each kind, so that generated ids often name a real row."""
    from datetime import timedelta

    from volunteer_app.services import store
    from volunteer_app.timeutil import utcnow

    from . import factories
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        team = factories.team(session)
        admin = factories.admin(session)
        coordinator = factories.coordinator(session, team)
        volunteer = factories.user(session, team=team, balance=50)
        item = factories.store_item(session, cost=5, stock=5)
        redemption = store.redeem(session, admin, item_id=item.id, user_id=volunteer.id)
        point = factories.checkpoint(session, team=team)
        event = factories.event(session, team=team)
        start = utcnow() + timedelta(days=1)
        shift = factories.shift(session, team, starts_at=start, ends_at=start + timedelta(hours=2), route=[point])
        tip = factories.tip(session, volunteer)
        ids = {"team_id": [team.id], "user_id": [volunteer.id, coordinator.id, admin.id], "item_id": [item.id],
               "redemption_id": [getattr(redemption, "id", 1)], "checkpoint_id": [point.id],
               "event_id": [event.id], "shift_id": [shift.id], "tip_id": [tip.id], "photo_id": [1]}
    return factories.token_for(app, admin), ids, admin


CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


def _aim(case, ids: dict, pick: int) -> None:
    """Most of the time, point the generated ids (path and body) at rows that exist."""
    if pick == 0:
        return
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name][pick % len(ids[name])]
    if isinstance(case.body, dict):
        for name in list(case.body):
            if name in ids and isinstance(case.body[name], int):
                case.body[name] = ids[name][pick % len(ids[name])]


def _exercise(operation, headers: dict, ids: dict, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(min_value=0, max_value=3))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case, pick):
        _aim(case, ids, pick)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_api_answers_match_the_schema(app, world):
    # The lazy pytest loader of schemathesis does not work with this pytest, so the operations are
    # walked here: each gets its own bounded Hypothesis run and every failure is reported at the end.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token, ids, admin = world
    failures, seen = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        seen += 1
        if (operation.method.upper(), operation.path) == ("DELETE", "/api/v1/auth/token"):
            token_for_op = factories.token_for(app, admin)  # given back here: the others keep theirs
        else:
            token_for_op = token
        headers = {"Authorization": f"Bearer {token_for_op}"}
        try:
            _exercise(operation, headers, ids, GenerationMode.POSITIVE)
            try:
                _exercise(operation, headers, ids, GenerationMode.NEGATIVE)
            except Unsatisfiable:  # nothing to get wrong: an operation without parameters or body
                pass
        except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - every failure is collected
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    assert seen >= 20, f"only {seen} operations in the OpenAPI document"
    assert not failures, f"{len(failures)} of {seen} operations failed:\n\n" + "\n\n".join(failures)
