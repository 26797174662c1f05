"""Browser journeys: Debian's Chromium, driven by Playwright, against the app served by gunicorn.

Fixtures to build a journey with:

- ``live_server``: the running app (``.url``, ``.make_user(...)``, ``.session()`` for arranging
  data through the services, ``.log_text()`` for the server's log).
- ``journey``: screenshots and accessibility checks. ``with journey.step("name", page): ...``
  runs the block; afterwards it saves ``NN-name.png`` under
  ``test-artifacts/e2e/<test name>/`` and runs axe-core on the page (no serious or critical
  violation), checks there is no sideways scrolling and no Content-Security-Policy complaint.
  A failing step is saved as ``NN-name-FAILED.png`` and the error names the step.
- ``new_page(user=None, password=...)``: a fresh browser context at 390x844 in Chinese; with a
  user it signs in through the login form first.

Where ``/usr/bin/chromium`` (or Playwright) is missing, every test here is skipped with the reason.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS") or ROOT / "test-artifacts" / "e2e")
PASSWORD = "e2e-password-1"
SECRET_KEY = "e2e-" + uuid.uuid4().hex
VIEWPORT = {"width": 390, "height": 844}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage"]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian package 'chromium'; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


SKIP_REASON = _skip_reason()


def pytest_collection_modifyitems(config, items):
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.e2e)
            if SKIP_REASON:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# -- the server --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(workdir: Path) -> str:
    """A temporary SQLite file, or a PostgreSQL database of the journeys' own (never the unit
    tests' one) when TEST_DATABASE_URL is set."""
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        return f"sqlite:///{workdir}/e2e.db"
    from sqlalchemy import create_engine, text

    from volunteer_app.config import normalise_database_url
    base, name = normalise_database_url(pg).rsplit("/", 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    target = f"{name}_e2e" + (f"_{worker}" if worker else "")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).first():
            conn.execute(text(f'CREATE DATABASE "{target}"'))
    admin.dispose()
    return f"{base}/{target}"


def _prepare_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlmodel import SQLModel

    from volunteer_app import models  # noqa: F401
    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.create_all(engine)
    engine.dispose()


@dataclass
class LiveServer:
    url: str
    database_url: str
    workdir: Path
    log_path: Path
    process: subprocess.Popen
    app: object = None
    secrets: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def session(self):
        """A unit of work on the server's database, inside an app context (commits at the end)."""
        from volunteer_app import db
        with self.app.app_context(), db.unit_of_work(self.app.extensions["db_engine"]) as session:
            yield session

    def make_user(self, *, roles=("volunteer",), username: str | None = None, display_name: str | None = None,
                  team: str | None = None, team_role: str = "member", password: str = PASSWORD,
                  status: str = "active"):
        """An active user (optionally in ``team``, created when missing) who has seen the welcome offer."""
        from sqlmodel import select

        from volunteer_app.models import Team, TeamMembership, User
        from volunteer_app.services import accounts
        username = username or f"u{uuid.uuid4().hex[:8]}"
        self.secrets.append(password)
        with self.session() as session:
            station = accounts.default_station(session)
            user = accounts.create_user(session, None, username=username, password=password,
                                        display_name=display_name or username, roles=list(roles),
                                        station_id=station.id)
            user.large_mode_offered = True
            user.status = status
            session.add(user)
            if team:
                row = session.exec(select(Team).where(Team.name == team)).first()
                if row is None:
                    row = Team(station_id=station.id, name=team)
                    session.add(row)
                    session.flush()
                session.add(TeamMembership(team_id=row.id, user_id=user.id, role=team_role))
            session.flush()
            user_id = user.id
        with self.session() as session:
            return session.get(User, user_id)

    def token_for(self, user) -> str:
        from volunteer_app.models import User
        from volunteer_app.services import accounts
        with self.session() as session:
            raw, _row = accounts.issue_token(session, session.get(User, user.id), kind="api")
        self.secrets.append(raw)
        return raw

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    from volunteer_app import create_app

    workdir = tmp_path_factory.mktemp("e2e-server")
    database_url = _database_url(workdir)
    _prepare_database(database_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(workdir),
           "PUBLIC_BASE_URL": base, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_URL", None)
    log_path = workdir / "server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60",
         "--error-logfile", "-", "volunteer_app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(workdir),
                      "PUBLIC_BASE_URL": base, "TESTING": True})
    server = LiveServer(url=base, database_url=database_url, workdir=workdir, log_path=log_path, process=process,
                        app=app, secrets=[PASSWORD, SECRET_KEY])
    with server.session() as session:
        from volunteer_app.services import accounts
        accounts.default_station(session)
    yield server
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    app.extensions["db_engine"].dispose()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    shutil.copy(log_path, ARTIFACTS / f"server-{worker}.log")
    # No password, token or code that went through the journeys may appear in the server's log.
    text = log_path.read_text(errors="replace")
    assert " GET /healthz 200 " in text, "the server log holds no request lines"
    leaked = sorted({secret for secret in server.secrets if secret and len(secret) >= 6 and secret in text})
    if leaked:
        pytest.fail(f"secrets appear in the server log {log_path}: " + ", ".join(f"{s[:3]}…" for s in leaked))


@pytest.fixture(autouse=True)
def fresh_database(request):
    """Every journey starts from an empty station (the server keeps running between them)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("live_server")
    from sqlalchemy import text
    from sqlmodel import SQLModel

    engine = server.app.extensions["db_engine"]
    tables = SQLModel.metadata.sorted_tables
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
    with server.session() as session:
        from volunteer_app.services import accounts
        accounts.default_station(session)
    yield


# -- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _watch(page) -> None:
    """Collect console errors (CSP refusals among them) and failed requests of the page."""
    page.problems = []
    page.on("console", lambda message: page.problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(user=None, password=PASSWORD, locale="zh-CN")``: a page in a browser context of its
    own (its own cookies), signed in as ``user`` when given."""
    contexts = []

    def make(user=None, password: str = PASSWORD, locale: str = "zh-CN"):
        context = browser.new_context(viewport=VIEWPORT, locale=locale, is_mobile=True, has_touch=True,
                                      device_scale_factor=2, base_url=live_server.url,
                                      extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        context.set_default_timeout(15_000)
        serve_axe(context)
        contexts.append(context)
        page = context.new_page()
        _watch(page)
        if user is not None:
            login(page, user.username, password)
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    if "/welcome" in page.url:  # the large-mode offer, once
        page.locator("button[name=large][value='0']").click()
        page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {username} failed: {page.url}"


# -- journeys: steps, screenshots, axe ---------------------------------------------------------

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n').join(' '))}));
}"""


AXE_PATH = "/__e2e__/axe.min.js"


def serve_axe(context) -> None:
    """Serve the vendored axe-core from the app's own origin, so that the page's CSP
    (``script-src 'self'``) lets it in without weakening the policy for the test."""
    context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE), content_type="application/javascript"))


def axe_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
        page.wait_for_function("() => typeof window.axe !== 'undefined'")
    return page.evaluate(AXE_RUN)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "step"


class Journey:
    def __init__(self, name: str):
        self.name = name
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.pages_checked: list[str] = []

    @contextlib.contextmanager
    def step(self, name: str, page, *, axe: bool = True):
        self.count += 1
        label = f"{self.count:02d}-{_slug(name)}"
        try:
            yield page
            page.wait_for_load_state()
            problems = self.check(page)
            if problems:
                raise AssertionError("\n".join(problems))
        except Exception as error:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(self.folder / f"{label}-FAILED.png"), full_page=True)
            raise AssertionError(f"journey '{self.name}', step {label} ('{name}') failed at {page.url}:\n"
                                 f"{error}") from error
        # caret="initial": hiding the caret leaves an empty style attribute on every input, which
        # htmx then copies onto swapped-in inputs of the same id: a CSP refusal of the test's making.
        page.screenshot(path=str(self.folder / f"{label}.png"), full_page=True, caret="initial")
        if axe:
            self.axe(page, label)

    def check(self, page) -> list[str]:
        problems = []
        csp = [text for text in getattr(page, "problems", []) if "Content Security Policy" in text]
        if csp:
            problems.append("Content-Security-Policy refusals: " + "; ".join(csp[:5]))
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1] + 1:
            problems.append(f"sideways scrolling: the page is {width[0]} px wide in a {width[1]} px viewport")
        status = page.evaluate("() => document.title")
        if status.startswith("500"):
            problems.append(f"server error page: {status}")
        return problems

    def axe(self, page, label: str) -> None:
        violations = axe_violations(page)
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        self.pages_checked.append(page.url)
        if bad:
            page.screenshot(path=str(self.folder / f"{label}-AXE.png"), full_page=True)
            lines = [f"{v['impact']} {v['id']}: {v['help']} -> {v['nodes']}" for v in bad]
            raise AssertionError(f"journey '{self.name}', step {label}: axe-core found serious or critical "
                                 f"violations at {page.url}:\n" + "\n".join(lines))


@pytest.fixture
def journey(request):
    return Journey(_slug(request.node.name))
