"""The ``volunteer-app`` command."""
from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from pathlib import Path

import click
from sqlmodel import select

from . import create_app, db

def init_db(app) -> None:
    """Upgrade the database to the newest schema and make sure a station exists."""
    from . import migrate
    from .services import accounts, county
    engine = app.extensions["db_engine"]
    migrate.upgrade(engine)
    with app.app_context(), db.unit_of_work(engine) as session:
        accounts.default_station(session)
        county.rebuild_if_missing(session)


@click.group()
def main():
    """Volunteer-police engagement platform."""


@main.command("init-db")
def init_db_command():
    """Create or upgrade the database to the newest schema."""
    app = create_app()
    init_db(app)
    click.echo(f"database ready: {app.extensions['db_engine'].url.render_as_string(hide_password=True)}")


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--display-name", required=True)
@click.option("--role", "roles", multiple=True, default=["volunteer"], show_default=True,
              type=click.Choice(["volunteer", "clerk", "coordinator", "admin", "county_admin"]))
@click.option("--team", "team_name", default=None, help="Team name; created when it does not exist.")
def create_user_command(username, password, display_name, roles, team_name):
    """Create an active user (for the first administrator, say)."""
    from .errors import DomainError
    from .models import Team, TeamMembership
    from .services import accounts
    app = create_app()
    init_db(app)
    with app.app_context():
        try:
            with db.unit_of_work(app.extensions["db_engine"]) as session:
                station = accounts.default_station(session)
                team = None
                if team_name:
                    team = session.exec(select(Team).where(Team.station_id == station.id,
                                                           Team.name == team_name)).first()
                    if team is None:
                        team = Team(station_id=station.id, name=team_name)
                        session.add(team)
                        session.flush()
                user = accounts.create_user(session, None, username=username, password=password,
                                            display_name=display_name, roles=list(roles), station_id=station.id)
                if team is not None:
                    role = "coordinator" if "coordinator" in roles else "member"
                    session.add(TeamMembership(team_id=team.id, user_id=user.id, role=role))
        except DomainError as error:
            raise click.ClickException(str(error.message)) from None
    click.echo(f"created {username} ({', '.join(roles)})")


def default_workers() -> int:
    return min(2 * multiprocessing.cpu_count() + 1, 9)


def worker_app():
    """The app a server worker runs. Its own objects (modules, catalogs, compiled statements:
    about 140,000) live as long as the worker, so they are moved out of the garbage collector's
    sight: its full passes would otherwise stop a request for about 90 ms every thousand or so."""
    app = create_app()
    if app.config["DELIVERY_WORKER"]:
        from . import delivery
        app.extensions["delivery"] = delivery.start(app)  # webhooks go out from the server itself
    gc.freeze()
    return app


def run_server(host: str, port: int, workers: int, env: dict | None = None) -> None:
    """Serve with gunicorn; each worker builds its own app (and database pool)."""
    from gunicorn.app.base import BaseApplication

    for key, value in (env or {}).items():
        os.environ[key] = value

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", 60)
            self.cfg.set("accesslog", None)
            self.cfg.set("forwarded_allow_ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))

        def load(self):
            return worker_app()

    Server().run()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="Default: 2 x cores + 1, at most 9.")
def serve_command(host, port, workers):
    """Serve the app with gunicorn."""
    init_db(create_app())
    run_server(host, port, workers or default_workers())


def lan_address() -> str | None:
    """This computer's address on the local network (the one a phone on the same Wi-Fi would
    use), found by asking the system which interface routes outwards; nothing is sent."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int)
@click.option("--public-url", default=None,
              help="The address phones use, printed on the posters (default: PUBLIC_BASE_URL, or this "
                   "computer's network address with --host 0.0.0.0).")
@click.option("--no-serve", is_flag=True, help="Only build the demo database.")
@click.option("--verbose", is_flag=True, help="Show the database migrations' log.")
def demo_command(host, port, workers, public_url, no_serve, verbose):
    """Build a fresh demo database (instance/demo.db) with a station, teams and people, then serve."""
    import logging

    from . import demo
    from .services.checkpoints import is_loopback_url
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    env = {}
    public_url = public_url or os.environ.get("PUBLIC_BASE_URL")
    if not public_url and host == "0.0.0.0" and not no_serve:
        address = lan_address()
        public_url = f"http://{address}:{port}" if address else None
    if public_url:
        env["PUBLIC_BASE_URL"] = public_url.rstrip("/")
    if not os.environ.get("DATABASE_URL"):
        app = create_app()
        path = Path(app.instance_path) / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        env["DATABASE_URL"] = "sqlite:///" + str(path)
    os.environ.update(env)
    app = create_app()
    init_db(app)
    with app.app_context():
        with db.unit_of_work(app.extensions["db_engine"]) as session:
            accounts_printed = demo.seed(session)
    click.echo("Demo data ready. Sign in with:")
    for role, username, password in accounts_printed:
        click.echo(f"  {role:<12} {username:<14} {password}")
    if not public_url or is_loopback_url(public_url):
        where = f"is {public_url}," if public_url else "is not set, so the posters carry"
        click.echo(f"Warning: the posters' address (PUBLIC_BASE_URL) {where} an address of this computer alone: "
                   f"phones cannot check in with the posters. Use --public-url http://<this computer's address>:{port}, "
                   "or --host 0.0.0.0 to use its network address.", err=True)
    else:
        click.echo(f"Posters point at {public_url}.")
    if not no_serve:
        click.echo(f"Open http://{host}:{port}/ on this computer"
                   + (f", or {public_url}/ on a phone." if public_url and not is_loopback_url(public_url)
                      else " (use --host 0.0.0.0 to reach it from phones)."))
        run_server(host, port, workers or default_workers(), env)


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path):
    """A consistent copy of the database (SQLite backup API, or pg_dump) and of the uploaded
    photos and pictures, while the app serves."""
    from . import ops
    app = create_app()
    try:
        target = ops.backup(app.extensions["db_engine"], path, app.instance_path)
    except ops.OpsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written: {target} ({target.stat().st_size} bytes, the database and the uploaded files)")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def restore_command(path):
    """Load a backup into an empty database, then run the integrity checks."""
    from . import ops
    app = create_app()
    try:
        files = ops.restore(app.extensions["db_engine"], path, app.instance_path)
    except ops.OpsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored from {path} ({files} uploaded files); run 'volunteer-app check' to verify")


@main.command("check")
def check_command():
    """Integrity checks: balances equal their ledger, nothing negative, every upload's file present."""
    from sqlalchemy.exc import DBAPIError

    app = create_app()
    try:
        problems = run_checks(app)
    except DBAPIError as error:  # no tables yet, or no database at all
        raise click.ClickException("the database cannot be checked (has 'volunteer-app init-db' been run?): "
                                   f"{str(error.orig).splitlines()[0]}") from None
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    click.echo("ok: all integrity checks passed")


def run_checks(app) -> list[str]:
    """Each domain's check takes a session and returns a list of problems."""
    from .services import checkins, ledger, service, shifts, store, tips
    checks = [ledger.check_integrity, ledger.check_lots, ledger.check_totals, store.check_integrity, tips.check_integrity,
              shifts.check_integrity, checkins.check_integrity, service.check_integrity]
    problems = []
    from . import ops
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"], write=False) as session:
        for check in checks:
            problems.extend(check(session))
        problems.extend(ops.missing_uploads(session, app.instance_path))
    return problems


@main.command("remind")
def remind_command():
    """Notices for confirmed volunteers whose shift starts within 12 hours (run it every few minutes)."""
    from .per_station import each_station
    from .services import shifts
    app = create_app()
    made = 0
    for station_id in each_station(app):
        with db.unit_of_work(app.extensions["db_engine"]) as session:
            made += shifts.remind(session, station_id=station_id)
    click.echo(f"{made} reminders sent")


@main.command("settle-service")
def settle_service_command():
    """Close the service records time has decided: duties past their post's limit (pending),
    events that have ended (run it every few minutes; the pages do it for what they show)."""
    from .per_station import each_station
    from .services import service
    app = create_app()
    settled = 0
    for station_id in each_station(app):
        with db.unit_of_work(app.extensions["db_engine"]) as session:
            settled += service.settle(session, station_id=station_id)
    click.echo(f"{settled} service records settled")


@main.command("lapse-reservations")
def lapse_reservations_command():
    """Give back points and stock of store reservations past their day (run it every hour)."""
    from .per_station import each_station
    from .services import store
    app = create_app()
    lapsed = 0
    for station_id in each_station(app):
        with db.unit_of_work(app.extensions["db_engine"]) as session:
            lapsed += store.lapse_reservations(session, station_id=station_id)
    click.echo(f"{lapsed} reservations lapsed")


@main.command("deliver")
@click.option("--once", is_flag=True, help="One pass (for cron): the shift check, then every due delivery.")
def deliver_command(once):
    """Send the webhooks' deliveries that are due (serve does this by itself)."""
    from . import delivery
    app = create_app()
    if once:
        queued, sent = delivery.run_once(app)
        click.echo(f"{queued} queued, {sent} attempts")
        return
    thread, stop = delivery.start(app)
    try:
        thread.join()
    except KeyboardInterrupt:
        stop.set()
@main.command("expire-points")
def expire_points_command():
    """Lapse unused vouchers (points given back) and points past their day (POINTS_EXPIRE), and
    send the notices 30 and 7 days before (run it daily; twice, or on two instances at once,
    lapses nothing twice). Station by station, each by its own day and rule."""
    from .per_station import each_station
    from .services import expiry
    app = create_app()
    result = expiry.SweepResult()
    for station_id in each_station(app):
        result += expiry.sweep(app.extensions["db_engine"], station_id=station_id)
    click.echo(f"{result.points} points lapsed in {result.entries} entries; {result.notices} notices sent; "
               f"{result.vouchers} unused vouchers lapsed")
@main.command("rebuild-summaries")
def rebuild_summaries_command():
    """Recompute the county's summary tables from the check-ins, service records and ledger
    (once after upgrading a database that has data; the writes keep them from then on)."""
    from .services import county
    app = create_app()
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        written = county.rebuild(session)
    click.echo(f"{written} station days written")


def init_app(app) -> None:
    """The command builds its own app; nothing to attach."""
