"""Operations: backup and restore while writes run, the request log, secrets kept out of logs,
and the error pages."""
from __future__ import annotations

import gc
import logging
import re
import shutil
import threading
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlmodel import select

from volunteer_app import create_app, db
from volunteer_app.cli import main as cli, run_checks, worker_app
from volunteer_app.models import LedgerEntry, User
from volunteer_app.services import ledger

from . import factories
from .conftest import arrange, csrf_token


def _url(app) -> str:
    return app.extensions["db_engine"].url.render_as_string(hide_password=False)


def _empty_target(tmp_path, app) -> str:
    """A new, empty database of the same engine as ``app``'s."""
    if app.extensions["db_engine"].dialect.name == "sqlite":
        return f"sqlite:///{tmp_path}/restored.db"
    base, name = _url(app).rsplit("/", 1)
    target = f"{name}_restore"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return f"{base}/{target}"


def _cli(tmp_path, url: str, *args):
    env = {"DATABASE_URL": url, "SECRET_KEY": "test-secret-key", "INSTANCE_PATH": str(tmp_path / "cli-instance"),
           "LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_a_server_worker_keeps_its_app_out_of_the_collectors_full_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/worker.db")
    monkeypatch.setenv("SECRET_KEY", "worker-secret-key")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DELIVERY_WORKER", "0")
    gc.unfreeze()
    try:
        app = worker_app()
        assert app.config["DATABASE_URL"].endswith("worker.db")
        assert gc.get_freeze_count() > 10_000
        assert "delivery" not in app.extensions
    finally:
        gc.unfreeze()


def test_a_server_worker_starts_the_delivery_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/worker.db")
    monkeypatch.setenv("SECRET_KEY", "worker-secret-key")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = worker_app()
    gc.unfreeze()
    thread, stop = app.extensions["delivery"]
    try:
        assert thread.is_alive() and thread.daemon
    finally:
        stop.set()
        thread.join(30)


def test_backup_while_writing_then_restore(app, tmp_path):
    if app.extensions["db_engine"].dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on the PATH")
    with arrange(app) as s:
        team = factories.team(s)
        people = [factories.user(s, team=team, balance=50).id for _ in range(4)]
    engine = app.extensions["db_engine"]
    committed: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer():
        number = 0
        try:
            while not stop.is_set():
                number += 1
                user_id = people[number % len(people)]
                # a check-in's credit and a redemption's debit, each its own transaction
                kind, amount = ("checkin", 5) if number % 3 else ("redemption", -3)
                ref = f"ops-test:{number}"
                with app.app_context(), db.unit_of_work(engine) as s:
                    ledger.lock_user(s, user_id)
                    ledger.post(s, user_id, amount, kind, ref, reason="load during backup")
                committed.append(ref)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(committed) < 20 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        assert len(committed) >= 20, errors
        before_backup = list(committed)
        backup_path = tmp_path / "backups" / "volunteer.backup"
        result = _cli(tmp_path, _url(app), "backup", str(backup_path))
        assert result.exit_code == 0, result.output
        assert "backup written" in result.output and backup_path.stat().st_size > 0
        time.sleep(0.2)  # writes go on after the backup
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert len(committed) > len(before_backup)

    target = _empty_target(tmp_path, app)
    result = _cli(tmp_path, target, "restore", str(backup_path))
    assert result.exit_code == 0, result.output
    result = _cli(tmp_path, target, "check")
    assert result.exit_code == 0, result.output
    assert "ok" in result.output

    restored = create_app({"DATABASE_URL": target, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "r"),
                           "TESTING": True})
    try:
        assert run_checks(restored) == []
        with arrange(restored) as s:
            refs = set(s.exec(select(LedgerEntry.ref).where(LedgerEntry.ref.like("ops-test:%"))))
            balances = {user.id: user.balance for user in s.exec(select(User))}
        missing = [ref for ref in before_backup if ref not in refs]
        assert not missing, f"entries committed before the backup are missing: {missing[:5]}"
        assert refs <= set(committed)  # nothing that was never committed
        assert all(balance >= 0 for balance in balances.values())
    finally:
        restored.extensions["db_engine"].dispose()


def test_restore_refuses_a_database_with_data(app, tmp_path):
    if app.extensions["db_engine"].dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on the PATH")
    with arrange(app) as s:
        factories.user(s, username="keep.me")
    backup_path = tmp_path / "b.backup"
    assert _cli(tmp_path, _url(app), "backup", str(backup_path)).exit_code == 0
    result = _cli(tmp_path, _url(app), "restore", str(backup_path))
    assert result.exit_code != 0
    assert "not empty" in result.output
    with arrange(app) as s:
        assert s.exec(select(User.username)).all() == ["keep.me"]


def test_restore_refuses_a_file_that_is_no_backup(app, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 10)
    target = _empty_target(tmp_path, app)
    result = _cli(tmp_path, target, "restore", str(junk))
    assert result.exit_code != 0


def test_backup_on_postgresql_without_pg_dump_explains(tmp_path, monkeypatch):
    from volunteer_app import ops
    monkeypatch.setattr(shutil, "which", lambda name: None)
    engine = create_engine("postgresql+psycopg://someone:secret@db.invalid/volunteer")
    with pytest.raises(ops.OpsError) as caught:
        ops.backup(engine, tmp_path / "x.dump")
    assert "pg_dump" in str(caught.value) and "apt-get install" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_check_on_a_database_never_initialised_says_what_to_do(tmp_path):
    result = CliRunner().invoke(cli, ["check"], env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
                                                     "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "i"),
                                                     "LOG_LEVEL": "WARNING"})
    assert result.exit_code == 1 and "init-db" in result.output, result.output
    assert "Traceback" not in result.output


# -- logs ----------------------------------------------------------------------------------------

LINE = re.compile(r"^(?P<rid>\S+) (?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) user=(?P<user>\S+) "
                  r"ip=(?P<ip>\S+) (?P<ms>\d+\.\d)ms$")


def _request_lines(caplog) -> list[re.Match]:
    lines = [record.getMessage() for record in caplog.records if record.name == "volunteer_app.requests"]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return matches


def test_one_log_line_per_request_with_id_user_status_and_time(app, api, caplog):
    with arrange(app) as s:
        user = factories.user(s)
    token = factories.token_for(app, user)
    caplog.set_level(logging.INFO, logger="volunteer_app.requests")
    api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-abc-123"})
    api.client.get("/api/v1/me")
    api.client.get("/healthz")
    lines = _request_lines(caplog)
    assert len(lines) == 3
    first, second, third = lines
    assert first["rid"] == "req-abc-123" and first["path"] == "/api/v1/me" and first["status"] == "200"
    assert first["user"] == str(user.id)
    assert second["status"] == "401" and second["user"] == "-" and second["rid"] != "req-abc-123"
    assert third["path"] == "/healthz"
    assert len({line["rid"] for line in lines}) == 3


def test_request_id_is_answered_in_a_header(client):
    response = client.get("/healthz", headers={"X-Request-ID": "from-nginx-1"})
    assert response.headers["X-Request-ID"] == "from-nginx-1"
    assert len(client.get("/healthz").headers["X-Request-ID"]) >= 8


@pytest.mark.parametrize("given", ["evil\nabc 200 GET /forged", "evil\rGET", "a" * 65, "", "with space",
                                   "semi;colon", "中文", "tab\there"])
def test_a_request_id_outside_the_rule_is_replaced_never_logged(client, caplog, given):
    """Only ``[A-Za-z0-9._-]{1,64}`` is taken from the client: nothing else reaches a log line."""
    caplog.set_level(logging.INFO, logger="volunteer_app.requests")
    environ = {"HTTP_X_REQUEST_ID": given}  # the raw header, as a server passes it on
    response = client.get("/healthz", environ_overrides=environ)
    answered = response.headers["X-Request-ID"]
    assert answered not in given and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", answered)
    (line,) = _request_lines(caplog)
    assert line["rid"] == answered
    assert "forged" not in caplog.text and "\n" not in line.string and "\r" not in line.string


@pytest.mark.parametrize("given", ["a" * 64, "req.1_2-3", "X"])
def test_a_request_id_inside_the_rule_is_echoed_and_logged(client, caplog, given):
    caplog.set_level(logging.INFO, logger="volunteer_app.requests")
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    (line,) = _request_lines(caplog)
    assert line["rid"] == given


def test_a_path_with_line_breaks_stays_on_one_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="volunteer_app.requests")
    client.get("/no-such%0A200 GET /forged%0D x")
    (line,) = _request_lines(caplog)
    assert line["path"] == "/no-such%0A200%20GET%20/forged%0D%20x" and line["status"] == "404"


@pytest.fixture
def boom_app(tmp_path, pg_url):
    from .conftest import make_test_app
    app = make_test_app(tmp_path, pg_url, PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("kaboom-1234")

    from flask import abort
    app.add_url_rule("/boom", "boom", explode)
    app.add_url_rule("/api/v1/boom", "api_boom", explode)
    app.add_url_rule("/slow-down", "slow_down", lambda: abort(429))
    yield app
    app.extensions["db_engine"].dispose()


def test_errors_are_logged_once_with_their_traceback(boom_app, caplog):
    caplog.set_level(logging.INFO)
    client = boom_app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    api_response = client.get("/api/v1/boom")
    assert api_response.status_code == 500
    assert api_response.mimetype == "application/problem+json"
    assert "kaboom" not in api_response.get_data(as_text=True)  # no internals to the client
    with_traceback = [record for record in caplog.records if record.exc_info]
    assert len(with_traceback) == 2, [record.getMessage() for record in with_traceback]
    for record in with_traceback:
        assert record.exc_info[0] is RuntimeError
        assert "request" in record.getMessage()
    text_log = caplog.text
    assert text_log.count("RuntimeError: kaboom-1234") == 2  # once per failing request
    assert text_log.count("Traceback (most recent call last)") == 2
    statuses = [line["status"] for line in _request_lines(caplog)]
    assert statuses == ["500", "500"]


def _secrets_journey(app, api) -> list[str]:
    """A journey through pages and API; returns the secrets that went over the wire."""
    from volunteer_app.models import Checkpoint
    from volunteer_app.services import checkpoints

    secrets = []
    with arrange(app) as s:
        team = factories.team(s)
        coordinator = factories.coordinator(s, team, username="coord.secret", password="Coordinator-Pw-77")
        factories.user(s, team=team, username="vol.secret", password="Volunteer-Pw-88")
    secrets += ["Coordinator-Pw-77", "Volunteer-Pw-88"]
    client = app.test_client()
    # register and sign in through the pages
    token = csrf_token(client, "/register")
    client.post("/register", data={"csrf_token": token, "username": "new.secret", "display_name": "新人",
                                   "password": "Register-Pw-99", "password2": "Register-Pw-99"})
    secrets.append("Register-Pw-99")
    token = csrf_token(client, "/login")
    client.post("/login", data={"csrf_token": token, "username": "vol.secret", "password": "wrong-Pw-00"})
    client.post("/login", data={"csrf_token": token, "username": "vol.secret", "password": "Volunteer-Pw-88"})
    secrets += ["wrong-Pw-00", token]
    with client.session_transaction() as cookie_session:
        secrets.append(cookie_session.get("sid", "no-sid"))
    # the API: a token, calls with it
    answer = api.post("/api/v1/auth/token", json={"username": "coord.secret", "password": "Coordinator-Pw-77"})
    bearer = answer.get_json()["access_token"]
    secrets.append(bearer)
    api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
    api.post("/api/v1/auth/token", json={"username": "coord.secret", "password": "Bad-Guess-Pw-11"})
    secrets.append("Bad-Guess-Pw-11")
    # a poster code, opened and used
    with arrange(app) as s:
        actor = s.get(User, coordinator.id)
        checkpoint = checkpoints.create(s, actor, name="秘密路口", points=2)
        poster = checkpoints.token(s.get(Checkpoint, checkpoint.id))
    secrets.append(poster)
    page = client.get(f"/c/{poster}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if match:
        client.post(f"/c/{poster}", data={"csrf_token": match.group(1)})
    api.client.post("/api/v1/checkins", json={"code": poster},
                    headers={"Authorization": f"Bearer {bearer}"})
    # the member card code, when the store has landed
    card = api.client.get("/api/v1/me/member-code", headers={"Authorization": f"Bearer {bearer}"})
    if card.status_code == 200:
        secrets.append(card.get_json()["code"])
    return [secret for secret in secrets if secret and len(secret) >= 6]


def test_no_secrets_in_any_log_line(app, api, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = _secrets_journey(app, api)
    assert len(secrets) >= 9
    lines = [record.getMessage() for record in caplog.records]
    lines += [caplog.text]
    assert any(record.name == "volunteer_app.requests" for record in caplog.records)
    assert any("/c/<token>" in line for line in lines)  # the poster path is logged, its code is not
    for secret in secrets:
        leaking = [line for line in lines if secret in line]
        assert not leaking, f"a secret ({secret[:4]}…) appears in the log: {leaking[0][:200]}"


# -- error pages ---------------------------------------------------------------------------------

def _set_language(client, lang: str) -> None:
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": lang, "next": "/login"})


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_error_pages_in_the_site_layout(boom_app, lang):
    with arrange(boom_app) as s:
        team = factories.team(s)
        volunteer = factories.user(s, team=team, language=lang)
    client = boom_app.test_client()
    _set_language(client, lang)
    html_lang = "zh-CN" if lang == "zh_CN" else "en"
    pages = {}
    pages[404] = client.get("/no-such-page")
    pages[429] = client.get("/slow-down")
    pages[500] = client.get("/boom")
    token = csrf_token(client, "/login")
    client.post("/login", data={"csrf_token": token, "username": volunteer.username, "password": factories.PASSWORD})
    pages[403] = client.get("/manage/approvals")  # a volunteer on a coordinator's page
    bodies = {}
    for status, response in pages.items():
        assert response.status_code == status
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        bodies[status] = html
        assert f'<html lang="{html_lang}"' in html, status
        assert 'class="topbar"' in html and 'id="main"' in html  # the site's layout
        assert 'href="/"' in html  # says what to do next: a way home
        assert 'role="alert"' in html  # the reason, in words
        assert "Traceback" not in html and "kaboom" not in html
    assert 'class="bottomnav"' in bodies[403]  # signed in: the usual navigation
    headings = {status: re.search(r"<h1>(.*?)</h1>", html, re.S).group(1).strip() for status, html in bodies.items()}
    assert len(set(headings.values())) == 4, headings  # each status says something of its own
    if lang == "en":
        assert headings[404] == "Page not found"
    elif _catalog_compiled("zh_CN"):
        assert re.search(r"[\u4e00-\u9fff]", headings[404]), headings[404]


def _catalog_compiled(lang: str) -> bool:
    from volunteer_app import PACKAGE_DIR
    return (PACKAGE_DIR / "translations" / lang / "LC_MESSAGES" / "messages.mo").exists()


def test_api_errors_stay_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_create_user_refuses_a_common_password_and_a_look_alike(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    weak = _cli(tmp_path, url, "create-user", "--username", "boss", "--password", "password1",
                "--display-name", "站长", "--role", "admin")
    assert weak.exit_code != 0 and "最常见的密码" in weak.output
    made = _cli(tmp_path, url, "create-user", "--username", "admin1", "--password", "a long passphrase 7",
                "--display-name", "站长", "--role", "admin")
    assert made.exit_code == 0, made.output
    twin = _cli(tmp_path, url, "create-user", "--username", "admın1", "--password", "a long passphrase 7",
                "--display-name", "冒名", "--role", "admin")
    assert twin.exit_code != 0 and "看起来太像" in twin.output


# -- uploads in backups and checks; health -----------------------------------------------------------

def _png() -> bytes:
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _cli_at(instance, url: str, *args):
    env = {"DATABASE_URL": url, "SECRET_KEY": "test-secret-key", "INSTANCE_PATH": str(instance),
           "LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_backup_carries_the_uploads_and_check_notices_a_missing_file(app, tmp_path):
    from pathlib import Path

    from volunteer_app.services import store, tips
    if app.extensions["db_engine"].dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on the PATH")
    with arrange(app) as s:
        admin = factories.admin(s)
        reporter = factories.user(s)
        tip = factories.tip(s, reporter)
        photo = tips.add_photo(s, reporter, tip.id, _png(), folder=tips.photo_dir(app.instance_path))
        item = factories.store_item(s)
        item = store.set_picture(s, admin, item.id, _png(), app.instance_path)
        photo_name, picture_name = photo.stored_name, item.picture
    backup_path = tmp_path / "with-uploads.backup"
    assert _cli_at(app.instance_path, _url(app), "backup", str(backup_path)).exit_code == 0

    target, restored_instance = _empty_target(tmp_path, app), tmp_path / "restored-instance"
    result = _cli_at(restored_instance, target, "restore", str(backup_path))
    assert result.exit_code == 0, result.output
    photo_file = restored_instance / "tip_photos" / photo_name
    assert photo_file.read_bytes() == (Path(app.instance_path) / "tip_photos" / photo_name).read_bytes()
    assert (restored_instance / store.PICTURE_DIR / picture_name).is_file()
    assert _cli_at(restored_instance, target, "check").exit_code == 0

    photo_file.unlink()
    result = _cli_at(restored_instance, target, "check")
    assert result.exit_code == 1 and f"photo {photo.id} has no file" in result.output
    (restored_instance / store.PICTURE_DIR / picture_name).unlink()
    assert f"store item {item.id}: picture has no file" in _cli_at(restored_instance, target, "check").output


def test_healthz_proves_that_writes_work(app, client, monkeypatch):
    from pathlib import Path

    from sqlalchemy import Column, DateTime, MetaData, String, Table

    from volunteer_app import ops
    assert client.get("/healthz").status_code == 200
    blocked = Path(app.instance_path) / ops.HEALTH_PROBE  # a directory where the probe file goes: the write fails
    blocked.unlink(missing_ok=True)
    blocked.mkdir()
    response = client.get("/healthz")
    assert response.status_code == 503 and "instance folder" in response.get_json()["detail"]
    blocked.rmdir()
    assert client.get("/healthz").status_code == 200
    ghost = Table("no_such_table", MetaData(), Column("kind", String), Column("key", String),
                  Column("created_at", DateTime))
    monkeypatch.setattr(ops, "Attempt", ghost)  # the database refuses the probe's insert
    response = client.get("/healthz")
    assert response.status_code == 503 and "database" in response.get_json()["detail"]
    with arrange(app) as s:  # the probe leaves nothing behind
        from volunteer_app.models import Attempt
        assert s.exec(select(Attempt)).all() == []
