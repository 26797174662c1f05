"""The delivery worker: sends the outbox (webhooks and text messages), runs the shift check and, once a station
day, the points sweep (``expire-points``, station by station), in a background thread of ``volunteer-app serve``;
or sends once from ``volunteer-app deliver --once``.

Every server worker process starts the thread, but only one per instance folder runs at a time
(an ``flock`` on ``instance/delivery.lock``; another takes over when that process ends). Several
instances on one database are safe as well: deliveries are claimed in the database.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time

from . import db, per_station, sms
from .services import expiry, webhooks
from .timeutil import local, utcnow

log = logging.getLogger(__name__)
#: How often the shift check runs (seconds).
SHIFT_CHECK_EVERY = 60.0


def run_once(app) -> tuple[int, int]:
    """One pass: the shift check, then every due delivery. Returns (queued, attempts)."""
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        queued = webhooks.understaffed_pass(session)
    return queued, deliver_all(app)


def _deliver_only(app) -> int:
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        made = webhooks.deliver_due(session)
    with app.app_context(), db.unit_of_work(app.extensions["db_engine"]) as session:
        return made + sms.deliver_due(session)


def deliver_all(app) -> int:
    """Every due delivery, by ``DELIVERY_THREADS`` senders at once (a slow receiver holds up one
    sender, not the rest); they claim in the database, so none is sent twice."""
    count = max(1, int(app.config["DELIVERY_THREADS"]))
    if count == 1:
        return _deliver_only(app)
    made = [0] * count

    def send(index: int) -> None:
        try:
            made[index] = _deliver_only(app)
        except Exception:  # noqa: BLE001 - the next pass tries again
            log.exception("delivery sender failed")

    senders = [threading.Thread(target=send, args=(index,), name=f"delivery-sender-{index}") for index in range(count)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return sum(made)


def daily_sweep(app, state: dict, now=None) -> threading.Thread | None:
    """Start the points sweep in a thread of its own for every station whose day (in its own
    time zone) has changed since its last one (not while one still runs), so that deliveries go
    on meanwhile; each station is swept with its own settings. The sweep is safe to run again or
    beside ``volunteer-app expire-points``. Returns the thread it started."""
    running = state.get("thread")
    if running is not None and running.is_alive():
        return None
    days = state.setdefault("days", {})
    due = []
    chosen = per_station.station_settings(app)
    values = dict(chosen)
    for station_id in per_station.each_station(app, chosen):
        today = local(now or utcnow()).date()
        if days.get(station_id) != today:
            days[station_id] = today
            due.append((station_id, values[station_id]))
    if not due:
        return None

    def sweep() -> None:
        for station_id in per_station.each_station(app, due):
            try:
                expiry.sweep(app.extensions["db_engine"], now=now, station_id=station_id)
            except Exception:  # noqa: BLE001 - tomorrow's sweep tries again; cron may run it too
                log.exception("points sweep failed for station %s", station_id)

    state["thread"] = thread = threading.Thread(target=sweep, name="points-sweep", daemon=True)
    thread.start()
    return thread


def _take_lock(path: str):
    handle = open(path, "a+")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def loop(app, stop: threading.Event) -> None:
    """Until ``stop``: deliver what is due every ``DELIVERY_POLL_SECONDS``, the shift check every
    minute, while holding the instance's delivery lock (waiting for it otherwise)."""
    poll = float(app.config["DELIVERY_POLL_SECONDS"])
    os.makedirs(app.instance_path, exist_ok=True)
    lock = None
    last_check = 0.0
    sweeps: dict = {}
    while not stop.is_set():
        if lock is None:
            lock = _take_lock(os.path.join(app.instance_path, "delivery.lock"))
            if lock is None:
                stop.wait(poll * 5)
                continue
        try:
            if time.monotonic() - last_check >= SHIFT_CHECK_EVERY:
                daily_sweep(app, sweeps)
                run_once(app)
                last_check = time.monotonic()
            else:
                deliver_all(app)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
            log.exception("delivery pass failed")
        stop.wait(poll)
    if lock is not None:
        lock.close()


def start(app) -> tuple[threading.Thread, threading.Event]:
    """Start the worker thread (a daemon: it ends with the process)."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(app, stop), name="delivery-worker", daemon=True)
    thread.start()
    return thread, stop
