from tests import factories


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_token_and_me(app, api, session):
    team = factories.team(session)
    user = factories.user(session, team=team, username="lao.wang")
    session.commit()
    response = api.post("/api/v1/auth/token", json={"username": "lao.wang", "password": factories.PASSWORD})
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == user.id
    assert me.get_json()["team_ids"] == [team.id]


def test_a_form_field_shows_a_zero_and_leaves_nothing_empty(app):
    """A default of 0 (points, a limit) is shown as 0, not as an empty box."""
    from flask import render_template_string
    macro = '{% from "_macros/forms.html" import field %}'
    with app.test_request_context():
        zero = render_template_string(macro + '{{ field("points", "Points", value=0) }}')
        empty = render_template_string(macro + '{{ field("note", "Note", value=None) }}')
    assert 'value="0"' in zero
    assert 'value=""' in empty


def test_favicon_manifest_and_description_are_served(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon" and icon.data[:4] == b"\0\0\1\0"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["name"] and body["start_url"] == "/" and body["display"] == "standalone"
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    page = client.get("/login").get_data(as_text=True)
    assert '<meta name="description" content="' in page and 'rel="manifest" href="/manifest.webmanifest"' in page
    assert 'rel="apple-touch-icon"' in page
