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


def test_demo_warns_about_posters_phones_cannot_open_and_is_quiet(tmp_path, monkeypatch):
    import logging

    from click.testing import CliRunner

    from volunteer_app import cli, demo
    from volunteer_app.services.checkpoints import is_loopback_url

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "demo.db"))
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # restored (unset) afterwards, whatever the command sets
    monkeypatch.setattr(demo, "seed", lambda session: [])  # the demo data has tests of its own
    alembic_logger = logging.getLogger("alembic")
    monkeypatch.setattr(alembic_logger, "level", logging.NOTSET)
    result = CliRunner().invoke(cli.main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "phones cannot check in" in result.output
    assert alembic_logger.getEffectiveLevel() >= logging.WARNING  # no migration log unless --verbose
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "demo2.db"))
    result = CliRunner().invoke(cli.main, ["demo", "--no-serve", "--public-url", "http://192.168.1.20:8000"])
    assert result.exit_code == 0, result.output
    assert "phones cannot" not in result.output and "Posters point at http://192.168.1.20:8000" in result.output
    assert [is_loopback_url(url) for url in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:80",
                                             "http://0.0.0.0:8000", "http://192.168.1.20:8000",
                                             "https://yj.example.cn", None)] == [True] * 4 + [False, False, False]
