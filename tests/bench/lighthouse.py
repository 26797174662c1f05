"""Lighthouse (mobile) on the demo: login, home, check-in, member card, leaderboard, shifts, the
clerk's counter and the dashboard, each signed in as the person who opens it.

Run by hand, from the repository root, in the venv:

    npm install --prefix ~/tools/lighthouse lighthouse        # once, outside the repository
    LIGHTHOUSE=~/tools/lighthouse/node_modules/.bin/lighthouse CHROME_PATH=/usr/bin/chromium \\
        python tests/bench/lighthouse.py [--port 8765] [--out test-artifacts/lighthouse] [--only home,counter]

It builds the demo database in a temporary folder, serves it (``volunteer-app demo``), signs in
through the login form for each person (the session cookie goes to Lighthouse as an extra
header), runs Lighthouse with its default mobile settings on Chromium (``--headless=new
--no-sandbox``) for the four categories, keeps each report (JSON and HTML) under ``--out`` and
prints the scores as a Markdown table, with every audit below 1 that held a category back.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PASSWORD = "demo-pass-2026"  # volunteer_app.demo.DEMO_PASSWORD

#: (name, who signs in (None: nobody), path); "{checkpoint}" is a demo checkpoint's poster token.
PAGES = [
    ("login", None, "/login"),
    ("home", "v01", "/"),
    ("check-in", "v01", "/c/{checkpoint}"),
    ("member card", "v01", "/store/card"),
    ("leaderboard", "v01", "/leaderboard"),
    ("shifts", "v01", "/shifts"),
    ("counter", "clerk", "/counter"),
    ("dashboard", "admin", "/manage/dashboard"),
]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base: str, username: str) -> str:
    """The Cookie header of a session signed in through the login form (the 长辈版 offer of a
    first sign-in answered with "no")."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post_form(path: str, page: str, fields: dict) -> None:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        opener.open(urllib.request.Request(base + path, data=body)).read()

    page = opener.open(base + "/login").read().decode()
    post_form("/login", page, {"username": username, "password": PASSWORD})
    answer = opener.open(base + "/")
    if "/welcome" in answer.url:
        post_form("/welcome", answer.read().decode(), {"large": "0"})
    if "/login" in opener.open(base + "/").url:
        raise SystemExit(f"signing in as {username} failed")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def checkpoint_token(database_url: str, secret_key: str, username: str) -> str:
    """The poster token of the first checkpoint where ``username`` may check in now."""
    from sqlmodel import select

    from volunteer_app import create_app, db
    from volunteer_app.errors import DomainError
    from volunteer_app.models import Checkpoint, User
    from volunteer_app.services import checkins, checkpoints
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secret_key})
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        person = session.exec(select(User).where(User.username == username)).one()
        for row in session.exec(select(Checkpoint).where(Checkpoint.active).order_by(Checkpoint.id)):
            try:
                checkins.preview(session, person, checkpoints.token(row))
            except DomainError:
                continue
            return checkpoints.token(row)
    raise SystemExit(f"no checkpoint where {username} may check in")


def run_lighthouse(lighthouse: str, url: str, cookie: str | None, out: Path) -> dict:
    command = [lighthouse, url, "--quiet", "--output=json", "--output=html", f"--output-path={out}",
               "--only-categories=" + ",".join(CATEGORIES), "--chrome-flags=--headless=new --no-sandbox"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")})
    return json.loads(out.with_suffix(".report.json").read_text())


def held_back(report: dict) -> list[str]:
    """The audits (weighted in a category) that scored below 1."""
    found = []
    for key in CATEGORIES:
        for ref in report["categories"][key]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
                found.append(f"{key}: {ref['id']} ({audit['score']}) {audit.get('displayValue', '')}".strip())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "lighthouse")
    parser.add_argument("--only", default="", help="page names, separated by commas")
    args = parser.parse_args()
    lighthouse = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    if not lighthouse:
        raise SystemExit("Lighthouse is missing: set LIGHTHOUSE to its path (npm install lighthouse)")
    args.out.mkdir(parents=True, exist_ok=True)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory(prefix="lighthouse-demo-") as folder:
        database_url = f"sqlite:///{folder}/demo.db"
        env = {**os.environ, "INSTANCE_PATH": folder, "DATABASE_URL": database_url, "PUBLIC_BASE_URL": base,
               "SECRET_KEY": "lighthouse-" + os.urandom(8).hex()}
        command = [str(Path(sys.executable).parent / "volunteer-app"), "demo", "--port", str(args.port), "--workers", "2"]
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            wait_for(base + "/healthz", 180)
            token = checkpoint_token(database_url, env["SECRET_KEY"], "v01")
            cookies: dict[str, str] = {}
            rows = []
            for name, who, path in PAGES:
                if only and name not in only:
                    continue
                if who and who not in cookies:
                    cookies[who] = sign_in(base, who)
                url = base + path.format(checkpoint=token)
                report = run_lighthouse(lighthouse, url, cookies.get(who), args.out / re.sub(r"\W+", "-", name))
                scores = [report["categories"][key]["score"] for key in CATEGORIES]
                rows.append((name, path.split("{")[0] + ("<token>" if "{" in path else ""), scores, held_back(report)))
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # the demo and its gunicorn workers
            server.wait(timeout=30)
    print(f"Lighthouse {report['lighthouseVersion']}, mobile, {report['environment']['hostUserAgent'].split(')')[-1].strip()}")
    print("| page | path | " + " | ".join(CATEGORIES) + " |")
    print("|---|---|" + "---|" * len(CATEGORIES))
    for name, path, scores, _notes in rows:
        print(f"| {name} | `{path}` | " + " | ".join(f"{score:.2f}" for score in scores) + " |")
    for name, _path, _scores, notes in rows:
        for note in notes:
            print(f"{name}: {note}")
    return 0 if all(score == 1 for _n, _p, scores, _x in rows for score in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
