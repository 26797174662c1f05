"""Signing in from a poster: the login page says which checkpoint waits, and the 长辈版 offer
comes after the check-in, not before it."""
from __future__ import annotations

import re

from volunteer_app.models import User
from volunteer_app.services import checkpoints

from . import factories
from .factories import checkpoint
from .conftest import arrange, csrf_token

CLIENT_REF = re.compile(r'name="client_ref" value="([0-9a-f]+)"')


def test_the_login_page_from_a_poster_names_the_checkpoint_and_the_offer_comes_after(app, client):
    with arrange(app) as session:
        team = factories.team(session)
        walker = factories.user(session, team=team, username="newcomer")
        walker.large_mode_offered = False
        session.add(walker)
        cp = checkpoint(session, team=team, name="湖滨亭")
        path = "/c/" + checkpoints.token(cp)
        old = checkpoint(session, team=team, name="旧海报")
        old_path = "/c/" + checkpoints.token(old)
        old.code_version += 1  # rotated: that poster is void
        session.add(old)
    login_url = client.get(path).location
    page = client.get(login_url).get_data(as_text=True)
    assert "登录后为「湖滨亭」签到" in page
    assert "旧海报" not in client.get(client.get(old_path).location).get_data(as_text=True)
    assert "签到" not in client.get("/login?next=/points").get_data(as_text=True).split("<main")[1].split("<form")[0]
    signed_in = client.post("/login", data={"csrf_token": csrf_token(client, login_url), "username": "newcomer",
                                            "password": factories.PASSWORD, "next": path})
    assert signed_in.location.endswith(path)  # straight to the check-in, no offer first
    html = client.get(path).get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf_token(client, path),
                                   "client_ref": CLIENT_REF.search(html).group(1)}, follow_redirects=True)
    assert "试试长辈版" in done.get_data(as_text=True)
    with arrange(app) as session:
        assert session.get(User, walker.id).large_mode_offered is False  # offered, not yet answered


def test_signing_in_elsewhere_still_offers_large_mode_first(app, client):
    with arrange(app) as session:
        walker = factories.user(session, username="elsewhere")
        walker.large_mode_offered = False
        session.add(walker)
    signed_in = client.post("/login", data={"csrf_token": csrf_token(client), "username": "elsewhere",
                                            "password": factories.PASSWORD, "next": "/points"})
    assert "/welcome" in signed_in.location
