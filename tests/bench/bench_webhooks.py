"""Check-in throughput with two webhooks subscribed to every event, against none, in the same run.

    python tests/bench/bench_webhooks.py            # SQLite (a temporary file)
    TEST_DATABASE_URL=postgresql://app:app@127.0.0.1/<db> python tests/bench/bench_webhooks.py

Seeds as ``bench_checkin.py`` does, starts ``volunteer-app serve --workers 3`` (its delivery worker
on, as in production), and a local receiver that answers every delivery after 0.5 s (a slow chat
platform). Beside the check-ins, a reporter files a tip every 0.25 s all along, so that with the
webhooks on, the worker has deliveries to send (two per tip). Rounds alternate: webhooks off (both
rows inactive), webhooks on, so a change in the machine's speed weighs on both alike. Prints
requests/s and latency per phase and the ratio on/off, and how many deliveries went out.
Timing is reported, never asserted.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import bench_checkin as base  # noqa: E402
from tests.receiver import start_receiver  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "12"))


def _engine(url: str):
    from volunteer_app.db import make_engine
    return make_engine(url)


def add_webhooks(url: str, receiver_url: str) -> None:
    from sqlmodel import Session, select

    from volunteer_app.models import WEBHOOK_EVENTS, Station, Webhook
    engine = _engine(url)
    with Session(engine) as session:
        station = session.exec(select(Station).order_by(Station.id)).first()
        for n in range(2):
            session.add(Webhook(station_id=station.id, url=f"{receiver_url}/hook{n}", events=",".join(WEBHOOK_EVENTS),
                                format="json", secret=f"bench-secret-{n}", active=False))
        session.commit()
    engine.dispose()


def set_webhooks(url: str, active: bool) -> None:
    from sqlalchemy import update

    from volunteer_app.models import Webhook
    engine = _engine(url)
    with engine.begin() as conn:
        conn.execute(update(Webhook).values(active=active))
    engine.dispose()


def delivered(url: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from volunteer_app.models import WebhookDelivery
    engine = _engine(url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(WebhookDelivery)).scalar()
        done = conn.execute(select(func.count()).select_from(WebhookDelivery)
                            .where(WebhookDelivery.status == "delivered")).scalar()
    engine.dispose()
    return total, done


def bench(label: str, url: str) -> dict:
    print(f"\n== {label}: preparing", flush=True)
    tokens, urls, spare = base.prepare(url)
    receiver = start_receiver()
    slow = threading.Event()

    original = receiver.server.RequestHandlerClass.do_POST

    def slow_post(handler):
        slow.wait(0.5)  # a slow platform: half a second per delivery
        original(handler)
    receiver.server.RequestHandlerClass.do_POST = slow_post
    add_webhooks(url, receiver.url)
    port = base.free_port()
    log = Path(tempfile.gettempdir()) / f"bench-webhooks-{label}.log"
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"
    os.environ["DELIVERY_POLL_SECONDS"] = "1"
    server = base.start_server(url, port, log)
    stop = threading.Event()
    reporter = spare[0]

    def trickle():
        n = 0
        while not stop.is_set():
            base.request(port, "POST", "/api/v1/tips", reporter, {"category": "fraud", "description": f"可疑电话{n}"})
            n += 1
            stop.wait(0.25)

    per_client = base.VOLUNTEERS // base.CONCURRENCY
    sent = [0] * base.CONCURRENCY

    def checkin(index, _n):
        n = sent[index]
        sent[index] += 1
        volunteer = index * per_client + n % per_client
        checkpoint = (n // per_client) % len(urls)
        if n >= per_client * len(urls):
            raise SystemExit("ran out of distinct (volunteer, checkpoint) pairs; lower BENCH_SECONDS")
        return "POST", "/api/v1/checkins", tokens[volunteer], {"code": urls[checkpoint]}

    collected = {"off": ([], [], 0.0), "on": ([], [], 0.0)}
    feeder = threading.Thread(target=trickle, daemon=True)
    try:
        base.run_phase(port, lambda i, n: ("GET", "/api/v1/me", tokens[i], None), 2)
        feeder.start()
        for _ in range(ROUNDS):
            for phase in ("off", "on"):
                set_webhooks(url, phase == "on")
                began = time.perf_counter()
                latencies, errors = base.drive(port, checkin, SECONDS / ROUNDS)
                kept = collected[phase]
                collected[phase] = (kept[0] + latencies, kept[1] + errors, kept[2] + time.perf_counter() - began)
        stop.set()
        feeder.join(10)
        time.sleep(3)  # the last deliveries
    finally:
        stop.set()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        receiver.close()
    results = {phase: base.summarise(*values) for phase, values in collected.items()}
    results["deliveries"] = delivered(url)
    results["received"] = len(receiver.requests)
    return results


def report(label: str, results: dict) -> None:
    off, on = results["off"], results["on"]
    print(f"-- {label} (concurrency {base.CONCURRENCY}, gunicorn 3 workers, a tip every 0.25 s throughout)")
    for name, row in (("no webhooks", off), ("two webhooks", on)):
        print(f"   {name:<14} {row['rps']:7.1f} check-ins/s   p50 {row['p50']:6.1f} ms   p99 {row['p99']:6.1f} ms   "
              f"errors {row['errors']}")
    print(f"   ratio two webhooks / none: throughput {on['rps'] / off['rps']:.3f}, p50 {on['p50'] / off['p50']:.2f}x, "
          f"p99 {on['p99'] / off['p99']:.2f}x")
    total, done = results["deliveries"]
    print(f"   deliveries queued {total}, delivered {done}, requests at the receiver {results['received']}")


def main() -> None:
    results = {label: bench(label, url) for label, url in base.engine_runs()}
    print()
    for label, row in results.items():
        report(label, row)


if __name__ == "__main__":
    main()
